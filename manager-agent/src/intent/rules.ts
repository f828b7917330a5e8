/**
 * The rule-based intent parser: the path used when no model is configured, or when the model fails.
 * Pure and deterministic. It reads a message in three steps: tidy it (mention, greeting, polite frame, emoji), find
 * the request's frame (a command verb, "we need …", "I'd like …", a bare role in a DM), then resolve what it is about
 * (a role to spawn, an agent of the conversation). In a group it errs on the side of `none`: a message not addressed
 * to the manager only counts when it is an obvious command about an agent ("spawn a trip planner here", "remove the
 * chef", "Remy's job is now to …" when Remy is an agent here). A false spawn or remove is worse than a `none`.
 */
import type { Intent, MessageContext, TemplateInfo } from "./Intent.ts"
import { MAX_AGENT_NAME, MAX_INSTRUCTIONS } from "./Intent.ts"
import {
  cleanCommand,
  fixVerbTypo,
  isAgentNoun,
  isKnownAgent,
  isUsableRef,
  leadingRef,
  looksLikeAgent,
  normalize,
  stripArticle,
  stripMention,
  type LeadingRef,
} from "./lexicon.ts"

export { stripMention } from "./lexicon.ts"

const INVITE_URL = /https?:\/\/[^\s<>"]+[?&]i=[^\s<>"]+/i

const titleCase = (phrase: string) =>
  phrase
    .split(" ")
    .filter((word) => word.length > 0)
    .map((word) => (word.length <= 2 && word === word.toUpperCase() ? word : word[0]!.toUpperCase() + word.slice(1)))
    .join(" ")

const LOCATION_SUFFIX =
  /\s+(?:(?:in\s+)?here|in\s+(?:this|the|our)\s+(?:group|chat|conversation|convo|thread)|(?:to|into|in)\s+(?:this|the|our)\s+(?:group|chat|conversation|convo|thread)|for\s+(?:us|me)(?:\s+here)?|over|pls|please)$/i

const stripLocation = (phrase: string) => {
  let rest = phrase
  for (;;) {
    const next = rest.replace(LOCATION_SUFFIX, "").trim()
    if (next === rest) return rest
    rest = next
  }
}

/** "…, called Remy" / "… named Remy" / "… and call it Remy": an explicit display name. */
const EXPLICIT_NAME = /(?:,?\s+(?:called|named)|,?\s+(?:and\s+)?(?:call|name)\s+(?:it|him|her|them))\s+"?([^",.!?]{1,60})"?\s*$/i
/** "a tutor named Ada who teaches calculus": a capitalised name in the middle of the request. */
const EMBEDDED_NAME = /\s+(?:called|named)\s+"?((?:[A-Z][\w'-]*)(?:\s+[A-Z][\w'-]*)*)"?/

/** Where the role ends and the details start: "trip planner | for Tokyo in March, budget-minded". */
const DETAIL_SPLIT =
  /\s+(?:for|who|that|which|to|with|about|from|in|on|at|specializing|specialising|focused|focusing|good|we|we're|i|i'm|you|they|he|she|it's|because|since|so)\b|\s*[,;:(?!]|\s+-\s+/i

/** A verb inside the "role" means the words were a sentence, not a role: "spawn point is behind the tower". */
const FINITE_VERB = /\b(?:is|are|was|were|am|been|has|had|will|would|can|could|should|did|does|do|gonna)\b/i

const articleFor = (phrase: string) => (/^[aeiou]/i.test(phrase) ? "an" : "a")

const normalizeSlug = (text: string) => text.toLowerCase().replace(/[^a-z0-9]+/g, " ").trim()

export const matchTemplate = (role: string, templates: ReadonlyArray<TemplateInfo>): TemplateInfo | undefined => {
  const wanted = normalizeSlug(role)
  if (wanted.length === 0) return undefined
  return (
    templates.find((t) => normalizeSlug(t.slug) === wanted || normalizeSlug(t.name) === wanted) ??
    templates.find((t) => {
      const name = normalizeSlug(t.name)
      return name.length > 0 && (` ${wanted} `.includes(` ${name} `) || ` ${name} `.includes(` ${wanted} `))
    })
  )
}

const clip = (text: string, max: number) => (text.length <= max ? text : text.slice(0, max - 1).trimEnd() + "…")

/** A short persona built from the request itself ("a trip planner for Tokyo in March, budget-minded"). */
export const personaFor = (name: string, description: string, template?: TemplateInfo): string => {
  const lines = template
    ? [template.instructions, description.toLowerCase() !== template.name.toLowerCase() ? `The group asked for: ${description}.` : ""]
    : [
        `You are ${name}, ${articleFor(description)} ${description}.`,
        "Help the people in this group with exactly that, in your own voice.",
      ]
  lines.push("You live in a group chat: keep replies short, friendly and useful to everyone in it.")
  return clip(lines.filter((line) => line.length > 0).join(" "), MAX_INSTRUCTIONS)
}

// ── spawn ────────────────────────────────────────────────────────────────────────────────────────────────────────

type SpawnStrength = "strong" | "ordinary" | "addressed-only"

/** Verbs that ask for a new agent, by how much they can be trusted in a group message addressed to nobody. */
const SPAWN_VERBS: ReadonlyArray<readonly [RegExp, SpawnStrength]> = [
  [/^\/?(?:spawn|summon|conjure)\b:?\s*/i, "strong"],
  [
    /^(?:add(?:ing)?|create|creating|bring(?:ing)?(?:\s+(?:in|over|along|on))?|invite|hire|launch|deploy|set(?:ting)?\s+up|setup|spin(?:ning)?\s+up|build|recruit|put|get\s+(?:me|us)|set\s+(?:me|us)\s+up\s+with)\b\s*/i,
    "ordinary",
  ],
  [/^(?:make|making|give|gimme|get(?:ting)?|start|generate)\b\s*/i, "addressed-only"],
]

/**
 * Indirect requests: "we need …", "I'd like …", "could we have …", "let's get …", "looking for …", "new agent: …".
 * Trusted only when the manager is addressed, or the object says outright that it is a bot or an agent.
 */
const REQUEST_FRAME =
  /^(?:(?:(?:i|we)\s+)?(?:really\s+|also\s+|still\s+)?(?:want|need|wanna|would\s+(?:like|love)|could\s+use)|(?:i|we)\s+(?:'d\s+(?:like|love)|'ll\s+take)|(?:i|we)'?d\s+(?:really\s+)?(?:like|love)|(?:can|could|may)\s+(?:i|we|u)\s+(?:please\s+)?(?:get|have)|let'?s\s+(?:get|have)|let'?s|how\s+about|what\s+about|(?:i'?m\s+|we'?re\s+)?(?:looking\s+for|after)|new\s+(?:agent|bot)\s*[:,-]?|(?:one|another)\s+more)(?:\b|(?<=[:,-]))\s*/i

const PRAISE =
  /^(?:thanks?|thank\s+you|ty|good|bad|great|nice|best|worst|stupid|dumb|silly|cute|lovely|dear|poor|bye|goodbye|love|awesome|amazing|cool|well\s+done|job|my|our)\b/i

/** Greetings and thanks to pass on: "tell Remy I said hi" is a message, not an instruction. */
const PASSING_WORD = /^(?:i\s+said|we\s+said|hi|hello|hey|thanks|thank|good\s*(?:night|morning|bye|job)|congrats|happy|sorry|bye|i\s+love|we\s+love|i\s+miss|we\s+miss)\b/i

/** "someone to settle our arguments": a request described by what it should do, not by a role noun. */
const GENERIC_AGENT = /^(?:someone|somebody|something|an?\s+(?:agent|bot|assistant|ai))\b/i

interface SpawnRequest {
  readonly object: string
  readonly strength: SpawnStrength
  /** The object came without a verb (a bare role in a DM, "a chef please" in a reply). */
  readonly bare: boolean
  /** The object came in an indirect frame ("I want …", "we need …"): it must name a role, even in a DM. */
  readonly framed: boolean
  readonly slash: boolean
}

const spawnRequest = (command: string, addressed: boolean): SpawnRequest | undefined => {
  let rest = command
  let framed = false
  const frame = REQUEST_FRAME.exec(rest)
  let wantsTo = false
  if (frame) {
    framed = true
    rest = rest.slice(frame[0].length)
    wantsTo = /^to\s+/i.test(rest)
    rest = rest.replace(/^to\s+/i, "")
  }
  for (const [verb, strength] of SPAWN_VERBS) {
    const match = verb.exec(rest)
    if (!match) continue
    const object = rest.slice(match[0].length).replace(/^(?:me|us)\s+/i, "").trim()
    return { object, strength: framed && strength !== "strong" ? "addressed-only" : strength, bare: false, framed, slash: rest.startsWith("/") }
  }
  // "I want to grab lunch", "we need to talk": wanting to do something else.
  if (wantsTo) return undefined
  if (framed) return { object: rest, strength: "addressed-only", bare: false, framed: true, slash: false }
  return addressed ? { object: rest, strength: "addressed-only", bare: true, framed: false, slash: false } : undefined
}

/**
 * Whether a spawn request names something an agent can be, given how it was asked. A false spawn is worse than a
 * `none`, so each way of asking has its own bar; the stricter ones apply to group messages addressed to nobody.
 */
const plausibleSpawn = (facts: {
  readonly request: SpawnRequest
  readonly role: string
  readonly description: string
  readonly template: TemplateInfo | undefined
  readonly hadArticle: boolean
  readonly saysHere: boolean
  readonly addressed: boolean
  readonly ctx: MessageContext
}): boolean => {
  const { request, role, description, template, hadArticle, saysHere, addressed, ctx } = facts
  const { strength, bare, framed, slash } = request
  // A role noun ("trip planner"), or any -er/-or/-ist word when "here" says where it goes.
  const agentish = looksLikeAgent(role, ctx, saysHere) || template !== undefined
  // Looser, for requests said to us: "a copywriter", "a haiku machine".
  const roleLike = agentish || looksLikeAgent(role, ctx, true)
  // A bare phrase names a role ("trip planner", "a chef please"), never "good night", "thanks chef", "good bot" or
  // "my trainer" (praise, or talk about someone already there; "the chef one" picks from a list).
  if (bare) {
    if (!agentish || role.split(" ").length > 4 || PRAISE.test(role)) return false
    if (/^(?:the|my|our|your|this|that)\b/i.test(request.object) && !/\s+one$/i.test(description)) return false
  }
  // "I want pizza", "we need a plan": an indirect request names a role even when said to us; addressed to nobody,
  // "need a bot for this lol" is a remark where "we need a recipe bot here" names one.
  if (framed && (!roleLike || (!addressed && /^(?:bot|agent|assistant|ai)s?$/i.test(role)))) return false
  // Said to us, a command verb still needs a role: "make a joke", "get me a beer", "create a grocery list".
  if (addressed && !bare && !framed && strength !== "strong" && !slash && !roleLike) return false
  if (!addressed && !slash) {
    // "add milk to the list", "create a plan", "spawn camping is annoying": not agents unless addressed to us.
    if (strength === "strong") return hadArticle || template !== undefined || isAgentNoun(role.split(" ").at(-1)!)
    if (!agentish) return false
    if (!hadArticle && !isKnownAgent(role, ctx) && !saysHere && !/\b(?:bot|agent|assistant)$/i.test(role)) return false
  }
  return true
}

const parseSpawn = (command: string, addressed: boolean, ctx: MessageContext, templates: ReadonlyArray<TemplateInfo>): Intent | undefined => {
  const request = spawnRequest(command, addressed)
  if (!request) return undefined
  const { strength } = request
  if (strength === "addressed-only" && !addressed && !/\b(?:bot|agent|assistant)\b/i.test(request.object)) return undefined
  const hadArticle = /^(?:a|an|the|some|another|one more|one|new|a\s+second)\b/i.test(request.object)
  let object = stripArticle(request.object.replace(/^a\s+second\s+/i, "second "))
  const located = stripLocation(object)
  const saysHere = located !== object
  object = located
  if (object.length === 0 || object.length > 300) return undefined

  let explicitName: string | undefined
  const named = EXPLICIT_NAME.exec(object)
  const embedded = named ? undefined : EMBEDDED_NAME.exec(object)
  if (named) {
    // "named Ada who teaches calculus": the name stops where the description resumes.
    const [name = "", ...rest] = named[1]!.trim().split(/\s+(?=(?:who|that|which|for|to|with|and)\b)/i)
    explicitName = name
    object = stripLocation(`${object.slice(0, named.index).trim()} ${rest.join(" ")}`.trim())
  } else if (embedded) {
    explicitName = embedded[1]!.trim()
    object = stripLocation(object.replace(embedded[0], "").trim())
  }
  const description = object.replace(/[\s,;.]+$/, "")
  // "the chef one" (picking from a list the manager showed) is the chef.
  let role = stripArticle(description.split(DETAIL_SPLIT)[0] ?? "").replace(/\s+one$/i, "").trim()
  // "we need someone" says nothing of what the agent should do.
  if (GENERIC_AGENT.test(role) && stripArticle(description).split(" ").length <= 1) return undefined
  if (GENERIC_AGENT.test(role) && (addressed || strength === "strong")) {
    // "someone to settle our arguments", "an agent that tracks expenses": the details are the persona.
    const noun = /\b(agent|bot|assistant|ai)\b/i.exec(role)?.[1]?.toLowerCase()
    role = noun === undefined || noun === "ai" ? "assistant" : noun
  }
  if (!isUsableRef(role) || FINITE_VERB.test(role)) return undefined
  const template = matchTemplate(role, templates)
  if (!plausibleSpawn({ request, role, description, template, hadArticle, saysHere, addressed, ctx })) return undefined

  const roleWords = role.split(" ")
  const derivedName = template?.name ?? titleCase(roleWords.length > 3 ? roleWords.slice(-2).join(" ") : role)
  const name = clip(explicitName ?? derivedName, MAX_AGENT_NAME)
  return {
    kind: "spawn",
    name,
    role: clip(role, 200),
    instructions: personaFor(name, description, template),
    ...(template ? { template: template.slug } : {}),
  }
}

// ── list, templates, help ────────────────────────────────────────────────────────────────────────────────────────

const AGENTS = String.raw`(?:agents|bots|assistants|ais)`
const HERE = String.raw`(?:here|in\s+here|around|in\s+(?:this|the|our)\s+(?:group|chat|conversation|convo))`

/** Questions about the agents here that are unmistakable even in a group message addressed to nobody. */
const LIST_ANYWHERE = [
  new RegExp(String.raw`^\/?(?:list|ls|agents|bots)$`, "i"),
  new RegExp(String.raw`^(?:list|show|show\s+me|see)\s+(?:all\s+)?(?:the\s+|your\s+|our\s+|my\s+)?${AGENTS}(?:\s+${HERE})?$`, "i"),
  new RegExp(String.raw`^who(?:'s|\s+is|\s+all\s+is|'s\s+all|\s+are\s+the\s+${AGENTS})\s+${HERE}(?:\s+now)?$`, "i"),
  new RegExp(String.raw`^(?:which|what)\s+${AGENTS}\s+(?:are|r)\s+(?:${HERE}|running|active|live)(?:\s+now)?$`, "i"),
  new RegExp(String.raw`^(?:which|what)\s+${AGENTS}\s+(?:do|did)\s+(?:we|you)\s+(?:have|spawn|add|create)(?:\s+here)?$`, "i"),
  new RegExp(String.raw`^how\s+many\s+${AGENTS}\s+(?:are\s+(?:there\s+)?${HERE}|do\s+we\s+have(?:\s+here)?)$`, "i"),
  new RegExp(String.raw`^who\s+(?:have\s+you|did\s+you)\s+(?:spawned|spawn|added|add)(?:\s+here)?$`, "i"),
]
/** Said to the manager: who it has added, in any wording that asks about agents or who is here. */
const LIST_ADDRESSED = [
  /^(?:list|show)(?:\s+(?:them|all|everyone|everybody))?$/i,
  new RegExp(String.raw`^(?:my|our|the|your)?\s*${AGENTS}$`, "i"),
  new RegExp(String.raw`^who(?:'s|\s+is|\s+are)\s+(?:still\s+)?(?:${HERE}|there)(?:\s+now)?$`, "i"),
  /^who\s+(?:have\s+we\s+got|do\s+we\s+have)(?:\s+here)?$/i,
  /^who\s+(?:have\s+you|did\s+you|you'?ve)\s+(?:spawned|spawn|added|add|brought(?:\s+in)?|bring(?:\s+in)?|made|make|created|create)\b/i,
  /^(?:list|show)\s+(?:me\s+)?(?:everyone|everybody|all)\s+(?:you'?ve|you\s+have)\b/i,
  new RegExp(String.raw`^(?:list|show|which|what|how\s+many|remind\s+me\s+(?:which|what)|tell\s+me\s+(?:which|what))\b.*\b${AGENTS}\b`, "i"),
]
/** What would make a question about agents a question about the catalog instead. */
const CATALOG_CUE =
  /\b(?:templates?|catalog(?:ue)?|ready[- ]?made|pre-?made|pre-?built|available|offer|options?|kinds?|types?|sorts?|other|(?:can|could)\s+(?:you|u|i|we)\s+(?:make|spawn|summon|add|create|bring|build|get|have))\b/i

const TEMPLATES_ANYWHERE = [
  /^\/?templates$/i,
  /^(?:list|show|show\s+me|see)\s+(?:the\s+|your\s+)?(?:templates|catalog|catalogue)$/i,
  new RegExp(String.raw`^what\s+(?:${AGENTS}|kinds?\s+of\s+${AGENTS}|types?\s+of\s+${AGENTS})\s+can\s+(?:you|i|we)\s+(?:spawn|make|create|add|get)(?:\s+here)?$`, "i"),
  /^what\s+can\s+you\s+(?:spawn|summon)$/i,
  /^what\s+templates\s+(?:are\s+there|do\s+you\s+have)$/i,
]

/** "can we get an agent to …" asks for one; "what agents can you make?" asks what there is. */
const ASKS_WHAT = /^(?:what|which|any|show|list|are\s+there|is\s+there|do\s+you\s+have|tell\s+me)\b/i

const isCatalogQuestion = (command: string) =>
  /\b(?:templates?|catalog(?:ue)?)\b/i.test(command) ||
  (ASKS_WHAT.test(command) && CATALOG_CUE.test(command) && new RegExp(String.raw`\b(?:${AGENTS}|agent|bot|ones)\b`, "i").test(command)) ||
  /^what\s+(?:else\s+)?can\s+you\s+(?:spawn|summon|make|add|create)(?:\s+for\s+(?:me|us))?$/i.test(command)

/** A bare "help", "/help" or "?": answered wherever the manager is, addressed or not. */
const BARE_HELP = /^(?:\/?help[!?.]*|\/start|\/commands|\?)$/i

/** Whether a message is a bare call for help: it has one meaning, so no model is asked about it. */
export const isBareHelp = (text: string, ctx: MessageContext) => BARE_HELP.test(stripMention(normalize(text), ctx.managerName).text)

const HELP_ADDRESSED = [
  /^(?:help|help\s+(?:me|us|pls|please)|\?+|commands|usage|menu|info|instructions|start)$/i,
  /^(?:what|which)\s+(?:else\s+)?(?:can|could|do)\s+(?:you|u|i|we)\s+(?:do|ask(?:\s+you)?|say|use\s+(?:you|this)(?:\s+for)?)(?:\s+here)?(?:\s+exactly)?$/i,
  /^what\s+(?:are|r)\s+(?:you|u)(?:\s+(?:for|capable\s+of|able\s+to\s+do|good\s+for))?$/i,
  /^what(?:'s|\s+is)\s+(?:this|that|this\s+(?:bot|thing)|your\s+(?:deal|purpose|job))$/i,
  /^how\s+(?:does|do)\s+(?:this|it|you|this\s+(?:bot|thing))\s+work$/i,
  /^how\s+(?:do|can|should)\s+(?:i|we)\s+(?:use|work\s+with|talk\s+to)\s+(?:you|this|it|this\s+(?:bot|thing))$/i,
  /^how\s+(?:do|can)\s+(?:i|we)\s+(?:add|spawn|make|create|get|remove|rename)\s+(?:an?\s+)?(?:agents?|bots?|assistants?)$/i,
  /^what\s+commands\s+(?:are\s+there|do\s+you\s+(?:have|know|support|take))$/i,
  /^what\s+are\s+(?:your|the)\s+commands$/i,
  /^who\s+are\s+you$/i,
  /^what\s+(?:should|do|can)\s+i\s+(?:say|ask|type|write)(?:\s+(?:to\s+)?you)?$/i,
  /^i'?m\s+(?:lost|confused)$/i,
]

// ── agents of the conversation: remove, rename, instruct ────────────────────────────────────────────────────────

/** "I want to rename …", "let's call …", "please kick …": the frame before an action verb carries nothing. */
const ACTION_FRAME =
  /^(?:(?:i|we)\s+(?:want|wanna|need|would\s+(?:like|prefer)|'d\s+(?:like|prefer))\s+(?:you\s+)?to\s+|i'?d\s+(?:like|prefer)\s+(?:you\s+)?to\s+|let'?s\s+|(?:can|could)\s+(?:we|i)\s+)/i

/** A reference is trusted when it is addressed to us, names an agent here, or (after a command verb) reads as one. */
const trusted = (ref: LeadingRef, addressed: boolean, strictUnaddressed: boolean) =>
  addressed || ref.known || !strictUnaddressed

const capitalizeSentence = (text: string) => {
  const trimmed = text.trim().replace(/^[\s,:;-]+/, "").replace(/[\s.]+$/, "")
  return trimmed.length === 0 ? trimmed : trimmed[0]!.toUpperCase() + trimmed.slice(1) + "."
}

const NAME_TAIL = /\s+(?:from\s+now\s+on|going\s+forward|instead|please|pls|now|then)$/i

/** A new display name: a short phrase, without quotes or the "from now on" around it. */
const cleanName = (raw: string): string | undefined => {
  let name = raw.replace(/[.!?]+$/, "").trim()
  for (let i = 0; i < 3; i++) name = name.replace(NAME_TAIL, "").trim()
  name = name.replace(/^["']|["']$/g, "").trim()
  if (name.length === 0 || name.split(" ").length > 4 || PRONOUN_NAME.test(name)) return undefined
  return clip(name, MAX_AGENT_NAME)
}
const PRONOUN_NAME = /^(?:it|that|this|him|her|them|something|whatever)$/i

const RENAME_TO = /^(?:to|as|into|->|→|=>|:|=)\s*/i

const parseRename = (command: string, addressed: boolean, ctx: MessageContext, templates: ReadonlyArray<TemplateInfo>): Intent | undefined => {
  const rename = (ref: LeadingRef | string, newName: string | undefined): Intent | undefined => {
    const agent = typeof ref === "string" ? stripArticle(ref) : ref.ref
    const name = newName === undefined ? undefined : cleanName(newName)
    return name && isUsableRef(agent) ? { kind: "rename", agent, newName: name } : undefined
  }
  const ref = (text: string) => leadingRef(text, ctx, addressed, templates)

  const verb = /^(\/)?rename\s+(.+)$/i.exec(command)
  if (verb) {
    const r = ref(verb[2]!)
    if (r && trusted(r, addressed, false)) {
      // "/rename Remy Gusteau", "rename the study buddy Sage": without "to", the new name must look like one.
      const tail = RENAME_TO.exec(r.rest) ?? (verb[1] || /^["']?[A-Z]/.test(r.rest) ? /^/.exec(r.rest) : null)
      if (tail) return rename(r, r.rest.slice(tail[0].length))
    }
    const loose = /^(.+?)\s+(?:to|as|into|->|→|=>)\s+(.+)$/i.exec(verb[2]!)
    if (loose && (addressed || looksLikeAgent(loose[1]!, ctx))) return rename(loose[1]!, loose[2]!)
    return undefined
  }
  const change = /^(?:change|update|set)\s+(?:the\s+name\s+of\s+(.+?)|(.+?)'s\s+name)\s+to\s+(.+)$/i.exec(command)
  if (change) {
    const phrase = (change[1] ?? change[2])!
    const r = ref(phrase)
    if (r && r.rest === "" && trusted(r, addressed, false)) return rename(r, change[3]!)
    if (addressed || looksLikeAgent(phrase, ctx)) return rename(phrase, change[3]!)
    return undefined
  }
  // "call the trip planner Marco from now on": only with a recognised agent and a capitalised name ("call mom back").
  const call = /^call\s+(.+)$/i.exec(command)
  if (call) {
    const r = ref(call[1]!)
    // Addressed to nobody, "call Remy Bob" may be a phone call: only a lasting wording counts.
    const lasting = addressed || /\s(?:from\s+now\s+on|going\s+forward|instead)$/i.test(r?.rest ?? "")
    if (r && lasting && trusted(r, addressed, false) && /^["']?[A-Z]/.test(r.rest)) return rename(r, r.rest)
    return undefined
  }
  const give = /^give\s+(.+)$/i.exec(command)
  if (give) {
    const r = ref(give[1]!)
    const named = r && /^(?:a\s+)?(?:new\s+|real\s+|proper\s+|different\s+)?name\s*[:,-]?\s*(?:like\s+|of\s+)?(.+)$/i.exec(r.rest)
    if (r && named && trusted(r, addressed, false)) return rename(r, named[1]!)
    return undefined
  }
  // Reference first: "the study buddy should be called Sage", "Remy's new name is Colette", "can X be called Y".
  const subject = /^(?:can|could)\s+(.+)$/i.exec(command)?.[1] ?? command
  const r = ref(subject)
  if (!r || !trusted(r, addressed, true)) return undefined
  const tail =
    /^(?:should|shall|will|can|could|must)\s+(?:now\s+)?be\s+(?:called|named|renamed(?:\s+to)?)\s+(.+)$/i.exec(r.rest) ??
    /^(?:is|'s)\s+(?:now\s+)?(?:called|named)\s+(.+)$/i.exec(r.rest) ??
    /^'s\s+(?:new\s+)?name\s+(?:is|should\s+be|will\s+be|=)?\s*:?\s*(.+)$/i.exec(r.rest) ??
    /^(?:be\s+called|be\s+named)\s+(.+)$/i.exec(r.rest) ??
    (addressed ? /^(?:->|→|=>)\s*(.+)$/.exec(r.rest) : null)
  return tail ? rename(r, tail[1]!) : undefined
}

/** Words that make an address to an agent a lasting instruction rather than a question to it. */
const STANDING_CUE =
  /^(?:from\s+now\s+on|going\s+forward|in\s+(?:the\s+)?future|always|never|only|no\s+more|stop\s+\w+ing|please\s+(?:always|never|only|stop\s+\w+ing))\b|^(?:don'?t|do\s+not)\b.*\b(?:any\s*more|ever|again|from\s+now\s+on)\b/i
const FROM_NOW_ON = /^(?:from\s+now\s+on|going\s+forward|in\s+(?:the\s+)?future|starting\s+(?:now|today))[\s,]+/i
/** Words that make a statement about an agent a standing rule for it. */
const LASTING = /\b(?:always|never|only|from\s+now\s+on|going\s+forward|any\s*more|no\s+more|no\s+longer|in\s+(?:the\s+)?future|stop\s+\w+ing)\b/i
/** "should be more concise" instructs; "should be here by now" does not. */
const BE_MANNER =
  /^be\s+(?:more|less|extra|very|super|nicer|kinder|brief|briefer|shorter|concise|funnier|friendlier|polite|patient|strict|stricter|gentle|gentler|sarcastic|formal|informal|casual|careful|honest|direct)\b/i
/** After "always"/"never"/"only": a verb with an -s ("always suggests") or a determiner ("only one …"). */
const DESCRIBES =
  /^(?:(?:always|never|only|usually)\s+(?:[a-z]+[^s\s]s|one|a|an|the|two|some|this|that|if|when|because|just|mind)|don'?t\s+(?:worry|bother|mind)|do\s+not\s+(?:worry|bother))\b/i
const LEAVING = /^(?:leave|go|go\s+away|get\s+out|be\s+removed|leave\s+(?:the\s+)?(?:group|chat))(?:\s+now)?$/i

const instructions = (text: string) => {
  const body = text.replace(FROM_NOW_ON, "").replace(/[\s,]+(?:from\s+now\s+on|going\s+forward)$/i, "")
  const sentence = capitalizeSentence(body)
  return sentence.length > 1 ? clip(sentence, MAX_INSTRUCTIONS) : undefined
}

const parseInstruct = (
  command: string,
  addressed: boolean,
  asked: boolean,
  ctx: MessageContext,
  templates: ReadonlyArray<TemplateInfo>,
): Intent | undefined => {
  const instruct = (agent: string, text: string): Intent | undefined => {
    const body = instructions(text)
    return body && isUsableRef(agent) ? { kind: "instruct", agent: stripArticle(agent), instructions: body } : undefined
  }
  const ref = (text: string) => leadingRef(text, ctx, addressed, templates)

  // Verb first, to the manager: "tell Remy to …", "ask the chef to …", "remind Remy that …", "let Remy know …".
  const tell = /^\/?(tell|instruct|ask|remind|let|make|have|get|update|instruct)\s+(.+)$/i.exec(command)
  if (tell) {
    const verb = tell[1]!.toLowerCase()
    const r = ref(tell[2]!)
    if (r && trusted(r, addressed, false)) {
      const rest = r.rest
      if (verb === "let") {
        const know = /^know\s+(?:that\s+)?(.+)$/i.exec(rest)
        return know && !PASSING_WORD.test(know[1]!) ? instruct(r.ref, know[1]!) : undefined
      }
      // "make Remy answer in French", "have the chef focus on breakfast", "get Remy to stop …": said to the manager,
      // or worded as a lasting rule ("have Remy over for dinner", "make the planner happy" are not).
      if (verb === "make" || verb === "have" || verb === "get") {
        const phrase = verb === "get" ? /^to\s+(.+)$/i.exec(rest)?.[1] : rest
        if (phrase === undefined || LEAVING.test(phrase) || !(addressed || LASTING.test(phrase))) return undefined
        if (phrase.split(" ").length < 2 || /^(?:a|an|the|some|over|for|in|on|at|to|with|from|back|up|down|out|off|around|here|there)\b/i.test(phrase)) {
          return undefined
        }
        return instruct(r.ref, phrase)
      }
      if (verb === "update") {
        const colon = /^(?:[:,-]|with|so\s+that|so)\s*(.+)$/i.exec(rest)
        return colon ? instruct(r.ref, colon[1]!) : undefined
      }
      const to = /^(?:to|that)\s+(.+)$/i.exec(rest)
      if (to) return instruct(r.ref, to[1]!)
      // "tell the trip planner we have a budget of 1500", said to us (not "ask Remy, he'll know", "tell Remy I said hi").
      if ((verb === "tell" || verb === "instruct") && addressed && /^[a-z]/i.test(rest) && rest.split(" ").length >= 2 && !PASSING_WORD.test(rest)) {
        return instruct(r.ref, rest)
      }
      if (tell[0].startsWith("/") && rest.length > 0) return instruct(r.ref, rest)
      return undefined
    }
    // "tell Bob to …" to the manager, Bob not recognised: the bot says it does not know that agent.
    const loose = /^(?:tell|instruct|ask|remind)\s+(.+?)\s+to\s+(.+)$/i.exec(command)
    if (loose && (addressed || looksLikeAgent(loose[1]!, ctx))) return instruct(loose[1]!, loose[2]!)
    return undefined
  }
  const set = /^(?:change|set|update)\s+(.+?)'s\s+(?:instructions|persona|prompt|brief|role|job|behaviou?r)\s+(?:to|as)?\s*:?\s*(.+)$/i.exec(command)
  if (set && (addressed || looksLikeAgent(set[1]!, ctx))) return instruct(set[1]!, set[2]!)
  const forAgent = /^(?:new\s+)?instructions\s+for\s+(.+?)\s*:\s*(.+)$/i.exec(command)
  if (forAgent && (addressed || looksLikeAgent(forAgent[1]!, ctx))) return instruct(forAgent[1]!, forAgent[2]!)
  // "I want Remy to be more sarcastic".
  const want = /^(?:i|we)\s+(?:want|need|would\s+like|'d\s+like)\s+(.+)$|^i'?d\s+like\s+(.+)$/i.exec(command)
  if (want) {
    const r = ref((want[1] ?? want[2])!)
    const to = r && /^to\s+(.+)$/i.exec(r.rest)
    return r && to && trusted(r, addressed, true) && !LEAVING.test(to[1]!) ? instruct(r.ref, to[1]!) : undefined
  }

  // Reference first: possessive, modal and vocative forms. Addressed to nobody, only for an agent of this group, and
  // never a question ("Remy should be here by now, no?"): those talk about the agent rather than to the manager.
  if (asked) return undefined
  const standing = FROM_NOW_ON.test(command)
  const r = ref(command.replace(FROM_NOW_ON, ""))
  if (!r || !trusted(r, addressed, true)) return undefined
  const rest = r.rest
  const duty = /^'s\s+(?:new\s+)?(job|role|task|purpose|focus|goal|mission|thing)\s*(?:is|will\s+be|:)\s*(?:now\s+)?(?:to\s+)?(.+)$/i.exec(rest)
  if (duty) return instruct(r.ref, duty[1]!.toLowerCase() === "role" ? `Your role is now: ${duty[2]!}` : duty[2]!)
  const brief = /^'s\s+(?:new\s+)?(?:instructions|persona|prompt|brief|orders)\s*(?:are|is)?\s*:?\s*(.+)$/i.exec(rest)
  if (brief) return instruct(r.ref, brief[1]!)
  // "Remy should always include calories" is a rule; "Remy must be tired", "should have told us" describe the agent.
  const lasting = standing || LASTING.test(rest)
  const modal = /^(?:should|shall|needs\s+to|need\s+to|has\s+to|have\s+to|must|is\s+to)\s+(?:now\s+)?(.+)$/i.exec(rest)
  if (modal) {
    const verbPhrase = modal[1]!
    if (LEAVING.test(verbPhrase) || /^be\s+(?:called|named|renamed)\b/i.test(verbPhrase)) return undefined
    const verbOnly = verbPhrase.replace(/^(?:(?:never|always|only|not|really|probably|definitely|maybe)\s+)+/i, "")
    if (/^have\s/i.test(verbOnly) || (/^be\s/i.test(verbOnly) && !BE_MANNER.test(verbOnly))) return undefined
    return addressed || lasting ? instruct(r.ref, verbPhrase) : undefined
  }
  const vocative = /^[,:-]?\s*(.+)$/.exec(rest)?.[1] ?? ""
  // "Remy always suggests pasta", "Remy, only one question: …": a description or a question, not an order.
  if (DESCRIBES.test(vocative) && !standing) return undefined
  const endsLasting = standing || /[\s,]+(?:from\s+now\s+on|going\s+forward)$/i.test(vocative)
  if (STANDING_CUE.test(vocative) || (endsLasting && /^[,:-]/.test(rest))) {
    if (/^stop$/i.test(vocative) || vocative.split(" ").length < 2) return undefined
    return instruct(r.ref, vocative)
  }
  return undefined
}

const REMOVE_VERB =
  /^\/?(?:remove|kick(?:\s+out)?|boot|fire|dismiss|delete|destroy|kill|get\s+rid\s+of|send\s+away|say\s+goodbye\s+to|shut\s+down|turn\s+off|stop|ditch|uninvite|drop)\s+/i
const ADDRESSED_REMOVE_VERB = /^(?:bye(?:\s+bye)?|goodbye|farewell)[\s,]+/i
/** What may follow the agent in a removal: where from, and then a new sentence ("… ? we booked everything"). */
const REMOVE_TAIL =
  /^(?:(?:out|away|off)\s*)?(?:(?:from|out\s+of)\s+(?:here|this\s+(?:group|chat|conversation)|the\s+(?:group|chat|conversation)|our\s+(?:group|chat)))?\s*(?:$|[?.!,;]\s*.*$)/i
const LEGACY_REMOVE =
  /^\/?(?:remove|kick(?:\s+out)?|boot|fire|dismiss|delete|destroy|kill|get\s+rid\s+of|send\s+away|say\s+goodbye\s+to|shut\s+down|turn\s+off|stop)\s+(.+?)(?:\s+(?:out|away))?(?:\s+(?:from|out\s+of)\s+(?:here|this\s+(?:group|chat|conversation)|the\s+(?:group|chat|conversation)))?$/i
/** The agent itself told to go, or said to be done: "Remy, please leave", "Remy can go now", "you're fired". */
const SENT_AWAY =
  /^[,:-]?\s*(?:please\s+)?(?:leave|go\s+away|get\s+out|you'?re\s+fired|you\s+are\s+fired|you\s+can\s+(?:go|leave)|can\s+(?:go|leave)|has\s+to\s+go|must\s+go|should\s+(?:go|leave)|needs\s+to\s+go|is\s+fired|is\s+no\s+longer\s+needed|be\s+removed)(?:\s+now)?(?:\s+(?:the\s+)?(?:group|chat))?(?:$|[?.!,;]\s*.*$)/i

const parseRemove = (command: string, addressed: boolean, ctx: MessageContext, templates: ReadonlyArray<TemplateInfo>): Intent | undefined => {
  const remove = (agent: string): Intent => ({ kind: "remove", agent: stripArticle(agent) })
  const ref = (text: string) => leadingRef(text, ctx, addressed, templates)
  const verb = REMOVE_VERB.exec(command) ?? (addressed ? ADDRESSED_REMOVE_VERB.exec(command) : null)
  if (verb) {
    const r = ref(command.slice(verb[0].length))
    if (r && trusted(r, addressed, false) && REMOVE_TAIL.test(r.rest)) return remove(r.ref)
    const legacy = LEGACY_REMOVE.exec(command)
    if (legacy && isUsableRef(legacy[1]!) && (addressed || looksLikeAgent(legacy[1]!, ctx))) return remove(legacy[1]!)
    return undefined
  }
  // "send Remy away", "kick Remy out", "get the trip planner out of here", "make Remy leave".
  const around = /^(send|kick|get|make|have|take)\s+(.+)$/i.exec(command)
  if (around) {
    const r = ref(around[2]!)
    const away = r && /^(?:away|out|out\s+of\s+here|out\s+of\s+(?:the|this)\s+(?:group|chat)|leave|go)(?:\s+(?:the\s+)?(?:group|chat))?(?:\s+now)?$/i.exec(r.rest)
    if (r && away && trusted(r, addressed, false)) return remove(r.ref)
    return undefined
  }
  // Indirect: "we don't need the trip planner anymore", "we're done with Chef", "time for X to go", "I'd like X removed".
  const indirect =
    /^(?:(?:i|we)\s+(?:don'?t|do\s+not|no\s+longer)\s+(?:need|want)|(?:i'?m|we'?re|i\s+am|we\s+are)\s+done\s+with)\s+(.+)$/i.exec(command)
  if (indirect) {
    const r = ref(indirect[1]!)
    if (r && trusted(r, addressed, true) && /^(?:(?:any\s*more|now|here)\b[\s,]*)*(?:$|[?.!,;]\s*.*$)/i.test(r.rest)) return remove(r.ref)
    return undefined
  }
  const time = /^(?:it'?s\s+)?time\s+for\s+(.+)$/i.exec(command)
  if (time) {
    const r = ref(time[1]!)
    if (r && trusted(r, addressed, true) && /^to\s+(?:go|leave)(?:\s+now)?$/i.test(r.rest)) return remove(r.ref)
    return undefined
  }
  const wantGone = /^(?:i|we)\s+(?:want|would\s+like|'d\s+like)\s+(.+)$|^i'?d\s+like\s+(.+)$/i.exec(command)
  if (wantGone) {
    const r = ref((wantGone[1] ?? wantGone[2])!)
    if (r && trusted(r, addressed, true) && /^(?:removed|gone|out)(?:\s+(?:from\s+)?(?:here|the\s+(?:group|chat)))?$/i.test(r.rest)) return remove(r.ref)
    return undefined
  }
  const r = ref(command.replace(/^(?:can|could|should)\s+/i, ""))
  if (r && trusted(r, addressed, true) && SENT_AWAY.test(r.rest)) return remove(r.ref)
  return undefined
}

// ── the parser ───────────────────────────────────────────────────────────────────────────────────────────────────

/** Whether a message in this context is addressed to the manager: a DM, a mention or a reply. */
export const isAddressed = (text: string, ctx: MessageContext) =>
  ctx.conversation === "dm" || ctx.repliesToManager === true || stripMention(normalize(text), ctx.managerName).mentioned

const NEGATED = /\b(?:don'?t|do\s+not|never|no\s+need\s+to)\b/i

export const parseByRules = (
  rawText: string,
  ctx: MessageContext,
  templates: ReadonlyArray<TemplateInfo> = [],
): Intent => {
  const text = normalize(rawText)
  if (text.length === 0) return { kind: "none" }
  const { text: unmentioned, mentioned } = stripMention(text, ctx.managerName)
  const addressed = ctx.conversation === "dm" || mentioned || ctx.repliesToManager === true

  // A pasted invite link, said to the manager, is a request to join it (people share links among themselves too).
  const invite = INVITE_URL.exec(unmentioned)
  if (invite) {
    const url = invite[0].replace(/[),.!?]+$/, "")
    return addressed && !NEGATED.test(unmentioned) ? { kind: "join", inviteUrl: url } : { kind: "none" }
  }

  if (BARE_HELP.test(unmentioned)) return { kind: "help" }
  const command = fixVerbTypo(cleanCommand(unmentioned))
  if (command.length === 0) return addressed && mentioned ? { kind: "help" } : { kind: "none" }

  if (TEMPLATES_ANYWHERE.some((p) => p.test(command))) return { kind: "templates" }
  if (LIST_ANYWHERE.some((p) => p.test(command))) return { kind: "list" }
  if (addressed) {
    if (HELP_ADDRESSED.some((p) => p.test(command))) return { kind: "help" }
    if (isCatalogQuestion(command)) return { kind: "templates" }
    if (LIST_ADDRESSED.some((p) => p.test(command))) return { kind: "list" }
  }

  const action = command.replace(ACTION_FRAME, "")
  return (
    parseRename(action, addressed, ctx, templates) ??
    parseInstruct(command, addressed, /\?[\s!?.]*$/.test(unmentioned), ctx, templates) ??
    parseRemove(action, addressed, ctx, templates) ??
    parseSpawn(command, addressed, ctx, templates) ??
    { kind: "none" }
  )
}
