/**
 * The rule-based intent parser: the path used when no model is configured, or when the model fails.
 * Pure and deterministic. In a group it errs on the side of `none`: a message not addressed to the manager only
 * counts when it is an obvious command about an agent ("spawn a trip planner here", "remove the chef").
 */
import type { Intent, MessageContext, TemplateInfo } from "./Intent.ts"
import { MAX_AGENT_NAME, MAX_INSTRUCTIONS } from "./Intent.ts"

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

const normalize = (text: string) =>
  text
    .replace(/[\u2018\u2019\u02bc]/g, "'")
    .replace(/[\u201c\u201d]/g, '"')
    .replace(/\s+/g, " ")
    .trim()

const INVITE_URL = /https?:\/\/[^\s<>"]+[?&]i=[^\s<>"]+/i

/** Strips mentions of the manager (at the start, or a trailing vocative) and says whether there was one. */
export const stripMention = (text: string, managerName: string): { readonly text: string; readonly mentioned: boolean } => {
  const name = escapeRegExp(managerName.trim())
  if (name.length === 0) return { text, mentioned: false }
  const leading = new RegExp(`^(?:(?:hey|hi|hello|yo|ok|okay|dear)\\s+)?@?${name}\\b[\\s,:;!.-]*`, "i")
  const trailing = new RegExp(`[\\s,]+@?${name}[\\s!.?]*$`, "i")
  const anywhere = new RegExp(`(?:^|\\s)@${name}\\b`, "i")
  let rest = text
  let mentioned = false
  if (leading.test(rest)) {
    rest = rest.replace(leading, "")
    mentioned = true
  }
  if (trailing.test(rest)) {
    rest = rest.replace(trailing, "")
    mentioned = true
  }
  if (anywhere.test(rest)) {
    rest = rest.replace(anywhere, " ").trim()
    mentioned = true
  }
  return { text: rest.trim(), mentioned }
}

const POLITE_PREFIX =
  /^(?:(?:please|pls|plz|kindly|ok|okay|so|now|and|hey|hi|yo)\s+|(?:can|could|would|will)\s+(?:you|u)\s+(?:please\s+)?|go\s+ahead\s+and\s+)+/i
const TRAILING_NOISE = /(?:[\s,]+(?:please|pls|plz|thanks|thank you|thx|now|asap))+[\s!.?]*$|[\s!.?]+$/i

const cleanCommand = (text: string) => {
  let rest = text
  for (let i = 0; i < 3; i++) {
    const next = rest.replace(POLITE_PREFIX, "").replace(TRAILING_NOISE, "").trim()
    if (next === rest) break
    rest = next
  }
  return rest
}

const PRONOUNS = new Set([
  "it", "that", "this", "them", "him", "her", "me", "us", "you", "one", "something", "anything", "someone",
  "somebody", "anyone", "anybody", "everyone", "everybody", "everything", "nothing", "some", "what", "those", "these",
  "talking", "there", "up", "out", "on", "off", "in", "here",
])

/** Nouns that name a role an agent can play: what makes "add a chef here" a command and "add milk" chatter. */
const AGENT_NOUN =
  /(?:bot|agent|assistant|helper|coach|guide|buddy|expert|chef|cook|tutor|teacher|mentor|advisor|adviser|planner|organi[sz]er|writer|editor|translator|researcher|analyst|consultant|concierge|sommelier|trainer|therapist|librarian|scheduler|summari[sz]er|moderator|bartender|critic|poet|designer|developer|engineer|manager|reviewer|tracker|scout|keeper|master|guru|companion|specialist|nutritionist|navigator|butler|secretary|clerk|banker|accountant|lawyer|doctor|nurse|coder|narrator|storyteller|comedian|historian|genie|wizard|oracle|pirate|buff|nerd|geek|whisperer|ninja|captain|^host|^pal|^dj|^sage)s?$/i
/** Looser: any -er/-or/-ist/-ian role word, trusted only with an explicit "here" ("add a copywriter here"). */
const ROLE_SUFFIX = /[a-z]{2,}(?:er|or|ist|ian)s?$/i

const stripArticle = (phrase: string) =>
  phrase.replace(/^(?:(?:the|a|an|our|my|your|this|that|some|another|one more|new)\s+)+/i, "").trim()

const sameName = (a: string, b: string) => stripArticle(a).toLowerCase() === stripArticle(b).toLowerCase()

const isKnownAgent = (phrase: string, ctx: MessageContext) =>
  (ctx.knownAgents ?? []).some((name) => sameName(name, phrase) || stripArticle(phrase).toLowerCase().includes(name.toLowerCase()))

const headNoun = (phrase: string) => {
  const words = stripArticle(phrase).split(" ")
  return words[words.length - 1] ?? ""
}

const looksLikeAgent = (phrase: string, ctx: MessageContext, loose = false) => {
  const bare = stripArticle(phrase)
  if (bare.length === 0 || PRONOUNS.has(bare.toLowerCase())) return false
  if (isKnownAgent(bare, ctx)) return true
  const head = headNoun(bare)
  if (bare.split(" ").length > 5 || /ing$/i.test(head)) return false
  return AGENT_NOUN.test(head) || (loose && ROLE_SUFFIX.test(head))
}

const isUsableRef = (phrase: string) => {
  const bare = stripArticle(phrase)
  return bare.length > 0 && bare.length <= 120 && !PRONOUNS.has(bare.toLowerCase())
}

const titleCase = (phrase: string) =>
  phrase
    .split(" ")
    .filter((word) => word.length > 0)
    .map((word) => (word.length <= 2 && word === word.toUpperCase() ? word : word[0]!.toUpperCase() + word.slice(1)))
    .join(" ")

const LOCATION_SUFFIX =
  /\s+(?:(?:in\s+)?here|in\s+(?:this|the|our)\s+(?:group|chat|conversation|convo|thread)|(?:to|into)\s+(?:this|the|our)\s+(?:group|chat|conversation|convo|thread)|for\s+(?:us|me)(?:\s+here)?|over)$/i

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
  /\s+(?:for|who|that|which|to|with|about|from|in|on|at|specializing|specialising|focused|focusing|good)\b|\s*[,;:(]|\s+-\s+/i

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

type SpawnVerbStrength = "strong" | "ordinary" | "addressed-only"

const SPAWN_VERBS: ReadonlyArray<readonly [RegExp, SpawnVerbStrength]> = [
  [/^\/?(?:spawn|summon|conjure)\s+/i, "strong"],
  [/^(?:add|create|bring(?:\s+(?:in|over|along))?|get\s+(?:me|us)|invite|hire|launch|deploy|set\s+up|setup)\s+/i, "ordinary"],
  [
    /^(?:make(?:\s+(?:me|us))?|give\s+(?:me|us)|i\s+(?:want|need|would\s+like|'d\s+like)|we\s+(?:want|need|would\s+like|'d\s+like)|(?:can|could|may)\s+(?:i|we)\s+(?:get|have)|let'?s\s+(?:get|have|add))\s+/i,
    "addressed-only",
  ],
]

const parseSpawn = (command: string, addressed: boolean, ctx: MessageContext, templates: ReadonlyArray<TemplateInfo>): Intent | undefined => {
  for (const [verb, strength] of SPAWN_VERBS) {
    const match = verb.exec(command)
    if (!match) continue
    if (strength === "addressed-only" && !addressed) return undefined
    let object = command.slice(match[0].length).trim()
    object = object.replace(/^(?:me|us)\s+/i, "")
    const hadArticle = /^(?:a|an|the|some|another|one more|new)\b/i.test(object)
    object = stripArticle(object)
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
    const role = stripArticle(description.split(DETAIL_SPLIT)[0] ?? "").trim()
    if (!isUsableRef(role)) return undefined
    // "add milk to the list", "create a plan", "get me a coffee": not agents, unless the manager was addressed.
    if (!addressed && strength !== "strong") {
      if (!looksLikeAgent(role, ctx, saysHere)) return undefined
      if (!hadArticle && !isKnownAgent(role, ctx) && !saysHere && !/\b(?:bot|agent|assistant)$/i.test(role)) return undefined
    }

    const template = matchTemplate(role, templates)
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
  return undefined
}

const LIST_PATTERNS = [
  /^\/?(?:list|ls)$/i,
  /^(?:list|show|show\s+me|see)\s+(?:all\s+)?(?:the\s+|your\s+|our\s+)?(?:agents|bots|assistants)(?:\s+(?:here|in\s+(?:this|the)\s+(?:group|chat|conversation)))?$/i,
  /^who(?:'s|\s+is|\s+all\s+is|'s\s+all|\s+are\s+the\s+(?:agents|bots))\s+(?:here|in\s+here|in\s+(?:this|the)\s+(?:group|chat|conversation))$/i,
  /^(?:which|what)\s+(?:agents|bots|assistants)\s+(?:are\s+(?:here|in\s+(?:this|the)\s+(?:group|chat|conversation)|running|active)|do\s+we\s+have(?:\s+here)?|have\s+you\s+(?:spawned|added|created)(?:\s+here)?|did\s+you\s+(?:spawn|add|create)(?:\s+here)?)$/i,
  /^who\s+(?:have\s+you|did\s+you)\s+(?:spawned|spawn|added|add)(?:\s+here)?$/i,
]
const LIST_ADDRESSED_ONLY = [/^(?:list|show)(?:\s+(?:them|all))?$/i, /^who(?:'s|\s+is)\s+(?:around|there)$/i]

const TEMPLATE_PATTERNS = [
  /^\/?templates$/i,
  /^(?:list|show|show\s+me|see)\s+(?:the\s+|your\s+)?(?:templates|catalog|catalogue)$/i,
  /^what\s+(?:agents|kinds?\s+of\s+agents|types?\s+of\s+agents|bots)\s+can\s+(?:you|i|we)\s+(?:spawn|make|create|add|get)(?:\s+here)?$/i,
  /^what\s+can\s+you\s+(?:spawn|summon)$/i,
]

const HELP_STRONG = [/^\/(?:help|start|commands)$/i]
const HELP_ADDRESSED = [
  /^(?:help|help\s+me|\?+|commands|usage|menu|info)$/i,
  /^(?:what|how)\s+(?:can|do)\s+(?:you|i)\s+(?:do|use\s+(?:you|this)|work)(?:\s+here)?$/i,
  /^what\s+(?:do\s+you\s+do|are\s+you|is\s+this)$/i,
  /^how\s+does\s+(?:this|it)\s+work$/i,
  /^who\s+are\s+you$/i,
]

const REMOVE =
  /^\/?(?:remove|kick(?:\s+out)?|boot|stop|fire|dismiss|delete|destroy|kill|get\s+rid\s+of|send\s+away|say\s+goodbye\s+to|shut\s+down|turn\s+off)\s+(.+?)(?:\s+(?:out|away))?(?:\s+(?:from|out\s+of)\s+(?:here|this\s+(?:group|chat|conversation)|the\s+(?:group|chat|conversation)))?$/i
const REMOVE_LEAVE = /^(.+?),?\s+(?:please\s+)?(?:leave|go\s+away|get\s+out)(?:\s+(?:the\s+)?(?:group|chat))?$/i

const RENAME = [
  /^\/?rename\s+(.+?)\s+(?:to|as|into)\s+(.+)$/i,
  /^change\s+(.+?)'s\s+name\s+to\s+(.+)$/i,
  /^change\s+the\s+name\s+of\s+(.+?)\s+to\s+(.+)$/i,
  /^call\s+(.+?)\s+(.+?)\s+from\s+now\s+on$/i,
]

const INSTRUCT = [
  /^(?:tell|instruct|ask|remind)\s+(.+?)\s+to\s+(.+)$/i,
  /^(?:change|set|update)\s+(.+?)'s\s+(?:instructions|persona|prompt)\s+to\s+(.+)$/i,
  /^(?:new\s+)?instructions\s+for\s+(.+?)\s*:\s*(.+)$/i,
]

const refIsAcceptable = (ref: string, addressed: boolean, ctx: MessageContext) =>
  isUsableRef(ref) && (addressed || looksLikeAgent(ref, ctx))

const capitalizeSentence = (text: string) => {
  const trimmed = text.trim().replace(/[\s.]+$/, "")
  return trimmed.length === 0 ? trimmed : trimmed[0]!.toUpperCase() + trimmed.slice(1) + "."
}

const cleanName = (name: string) => clip(name.replace(/^["']|["']$/g, "").replace(/[.!?]+$/, "").trim(), MAX_AGENT_NAME)

/** Whether a message in this context is addressed to the manager: a DM, a mention or a reply. */
export const isAddressed = (text: string, ctx: MessageContext) =>
  ctx.conversation === "dm" || ctx.repliesToManager === true || stripMention(normalize(text), ctx.managerName).mentioned

export const parseByRules = (
  rawText: string,
  ctx: MessageContext,
  templates: ReadonlyArray<TemplateInfo> = [],
): Intent => {
  const text = normalize(rawText)
  if (text.length === 0) return { kind: "none" }
  const { text: unmentioned, mentioned } = stripMention(text, ctx.managerName)
  const addressed = ctx.conversation === "dm" || mentioned || ctx.repliesToManager === true

  const invite = INVITE_URL.exec(unmentioned)
  if (invite) {
    const url = invite[0].replace(/[),.!?]+$/, "")
    const rest = unmentioned.replace(invite[0], "").trim()
    const asksToJoin = rest.length === 0 || /\b(?:join|come|hop|enter)\b/i.test(rest)
    return addressed && asksToJoin ? { kind: "join", inviteUrl: url } : { kind: "none" }
  }

  const command = cleanCommand(unmentioned)
  if (command.length === 0) return addressed && mentioned ? { kind: "help" } : { kind: "none" }

  if (HELP_STRONG.some((p) => p.test(command))) return { kind: "help" }
  if (TEMPLATE_PATTERNS.some((p) => p.test(command))) return { kind: "templates" }
  if (LIST_PATTERNS.some((p) => p.test(command))) return { kind: "list" }
  if (addressed && LIST_ADDRESSED_ONLY.some((p) => p.test(command))) return { kind: "list" }
  if (addressed && HELP_ADDRESSED.some((p) => p.test(command))) return { kind: "help" }

  for (const pattern of RENAME) {
    const match = pattern.exec(command)
    if (match && refIsAcceptable(match[1]!, addressed, ctx)) {
      const newName = cleanName(match[2]!)
      if (newName.length > 0) return { kind: "rename", agent: stripArticle(match[1]!), newName }
    }
  }

  for (const pattern of INSTRUCT) {
    const match = pattern.exec(command)
    if (match && refIsAcceptable(match[1]!, addressed, ctx)) {
      return { kind: "instruct", agent: stripArticle(match[1]!), instructions: clip(capitalizeSentence(match[2]!), MAX_INSTRUCTIONS) }
    }
  }

  const remove = REMOVE.exec(command)
  if (remove && refIsAcceptable(remove[1]!, addressed, ctx)) return { kind: "remove", agent: stripArticle(remove[1]!) }
  const leave = REMOVE_LEAVE.exec(command)
  if (leave && isUsableRef(leave[1]!) && isKnownAgent(leave[1]!, ctx)) return { kind: "remove", agent: stripArticle(leave[1]!) }

  return parseSpawn(command, addressed, ctx, templates) ?? { kind: "none" }
}
