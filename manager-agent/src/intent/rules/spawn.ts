/**
 * Asking for a new agent: the verbs and frames that ask for one ("spawn a trip planner here", "we need a chef"),
 * how plausible a request is in a group message addressed to nobody, and the name, template and persona it gets.
 */
import type { Intent, MessageContext, TemplateInfo } from "../Intent.ts"
import { MAX_AGENT_NAME, MAX_INSTRUCTIONS } from "../Intent.ts"
import {
  clip,
  isAgentNoun,
  isKnownAgent,
  isUsableRef,
  looksLikeAgent,
  stripArticle,
} from "../lexicon.ts"

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

export const parseSpawn = (command: string, addressed: boolean, ctx: MessageContext, templates: ReadonlyArray<TemplateInfo>): Intent | undefined => {
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
