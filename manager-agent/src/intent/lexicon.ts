/**
 * The words the rule-based parser knows: how a message is tidied before reading it (mentions, greetings, polite
 * frames, emoji), which nouns name a role an agent can play, and how a phrase is recognised as a reference to an
 * agent of the conversation ("Remy", "the trip planner", "our study buddy bot").
 */
import type { MessageContext, TemplateInfo } from "./Intent.ts"

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/** Curly quotes to straight ones, emoji dropped (they carry tone, not meaning), whitespace collapsed. */
export const normalize = (text: string) =>
  text
    .replace(/[\u2018\u2019\u02bc]/g, "'")
    .replace(/[\u201c\u201d]/g, '"')
    .replace(/\p{Extended_Pictographic}|[\u{1F3FB}-\u{1F3FF}\uFE0F\u200D]/gu, " ")
    .replace(/\s+/g, " ")
    .trim()

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

/**
 * Openers that carry politeness or hesitation but no request of their own: greetings, "please", "can you",
 * "would you mind", "do you think you could", "I think", "yes,", "ok then".
 */
const LEADING_FILLER =
  /^(?:(?:please|pls|plz|kindly|ok|okay|so|now|and|also|oh|um|uh|hey|hi|hello|yo|yes|yeah|yep|sure|great|cool|then|alright|actually|btw|i'?m\s+(?:lost|confused|new(?:\s+here)?))\b[\s,!.:;-]*|would\s+you\s+mind\s+|do\s+you\s+think\s+you\s+could\s+|(?:can|could|would|will)\s+(?:you|u)\s+(?:please\s+|pls\s+|maybe\s+)?|is\s+it\s+possible\s+(?:for\s+you\s+)?to\s+|go\s+ahead\s+and\s+|i\s+think\s+|maybe\s+)/i
const TRAILING_NOISE =
  /(?:[\s,.!?]+(?:please|pls|plz|thanks|thank\s+you|thx|ty|now|then|asap|lol|haha|again|thanks\s+a\s+lot))+[\s!.?]*$|[\s!.?,;:]+$/i

/** The message without its polite wrapping: "hi! could you please add a chef? thanks" → "add a chef". */
export const cleanCommand = (text: string) => {
  let rest = text
  for (let i = 0; i < 6; i++) {
    const next = rest.replace(LEADING_FILLER, "").replace(TRAILING_NOISE, "").trim()
    if (next === rest) break
    rest = next
  }
  return rest
}

/** Command verbs people misspell often enough to forgive: one letter dropped, added or two swapped. */
const TYPO_VERBS = ["spawn", "remove", "rename", "summon"]

const oneEditApart = (a: string, b: string) => {
  if (a === b) return false
  if (a.length === b.length) {
    const i = [...a].findIndex((c, k) => c !== b[k])
    return a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2)
  }
  const [short, long] = a.length < b.length ? [a, b] : [b, a]
  if (long.length - short.length !== 1) return false
  for (let i = 0; i < long.length; i++) if (long.slice(0, i) + long.slice(i + 1) === short) return true
  return false
}

/** "spwan a chef" → "spawn a chef": corrects the first word when it is one edit from a command verb. */
export const fixVerbTypo = (command: string) => {
  const match = /^(\/?)([a-z]{4,})\b/i.exec(command)
  if (!match) return command
  const word = match[2]!.toLowerCase()
  const verb = TYPO_VERBS.find((v) => oneEditApart(word, v))
  return verb ? match[1] + verb + command.slice(match[0].length) : command
}

/** Words that can never be an agent: pronouns and particles ("kick it", "stop that", "call it a night"). */
export const PRONOUNS = new Set([
  "it", "that", "this", "them", "him", "her", "me", "us", "you", "u", "one", "something", "anything", "someone",
  "somebody", "anyone", "anybody", "everyone", "everybody", "everything", "nothing", "some", "what", "those", "these",
  "talking", "there", "up", "out", "on", "off", "in", "here", "i", "we", "they", "he", "she", "all", "yourself",
])

/** Nouns that name a role an agent can play: what makes "add a chef here" a command and "add milk" chatter. */
const AGENT_NOUN =
  /(?:bot|agent|assistant|helper|coach|guide|buddy|expert|chef|cook|tutor|teacher|mentor|advisor|adviser|planner|organi[sz]er|writer|editor|translator|researcher|analyst|consultant|concierge|sommelier|trainer|therapist|librarian|scheduler|summari[sz]er|moderator|bartender|critic|poet|designer|developer|engineer|manager|reviewer|tracker|scout|keeper|master|guru|companion|specialist|nutritionist|navigator|butler|secretary|clerk|banker|accountant|lawyer|doctor|nurse|coder|narrator|storyteller|comedian|historian|genie|wizard|oracle|pirate|buff|nerd|geek|whisperer|ninja|captain|referee|recommender|checker|partner|machine|generator|friend|counsell?or|instructor|stylist|dj|^host|^pal|^sage|^ai)s?$/i
/** Looser: any -er/-or/-ist/-ian role word, trusted only with an explicit "here" ("add a copywriter here"). */
const ROLE_SUFFIX = /[a-z]{3,}(?:er|or|ist|ian)s?$/i

const ARTICLES = /^(?:(?:the|a|an|our|my|your|this|that|some|another|one\s+more|one|new)\s+)+/i
export const stripArticle = (phrase: string) => phrase.replace(ARTICLES, "").trim()

/** A known agent's name with its optional article and "bot"/"agent" tail: "the Remy bot" is Remy. */
const sameAgent = (phrase: string, name: string) =>
  stripArticle(phrase).replace(/\s+(?:bot|agent)$/i, "").toLowerCase() === stripArticle(name).toLowerCase()

export const isKnownAgent = (phrase: string, ctx: MessageContext) => (ctx.knownAgents ?? []).some((name) => sameAgent(phrase, name))

const headNoun = (phrase: string) => {
  const words = stripArticle(phrase).split(" ")
  return words[words.length - 1] ?? ""
}

export const isAgentNoun = (word: string) => AGENT_NOUN.test(word)

/** Whether a phrase reads as an agent: a known agent, or a short role phrase ending in a role noun. */
export const looksLikeAgent = (phrase: string, ctx: MessageContext, loose = false) => {
  const bare = stripArticle(phrase)
  if (bare.length === 0 || PRONOUNS.has(bare.toLowerCase())) return false
  if (isKnownAgent(bare, ctx)) return true
  const head = headNoun(bare)
  if (bare.split(" ").length > 5 || /ing$/i.test(head)) return false
  return AGENT_NOUN.test(head) || (loose && ROLE_SUFFIX.test(head))
}

export const isUsableRef = (phrase: string) => {
  const bare = stripArticle(phrase)
  return bare.length > 0 && bare.length <= 120 && !PRONOUNS.has(bare.toLowerCase())
}

/** A reference to an agent at the start of a phrase, and what follows it. */
export interface LeadingRef {
  /** As written, without its article: "Remy", "trip planner". */
  readonly ref: string
  readonly rest: string
  /** The reference names an agent of this conversation (not merely a role). */
  readonly known: boolean
}

/** Capitalised words that start sentences rather than name agents. */
const NOT_A_NAME = new Set([
  "i", "we", "you", "he", "she", "they", "it", "the", "a", "an", "this", "that", "my", "our", "your", "please", "can",
  "could", "would", "will", "what", "who", "how", "why", "when", "where", "is", "are", "do", "does", "lol", "ok", "okay",
  "thanks", "hey", "hi", "hello", "yes", "no", "me", "us", "him", "her", "them", "everyone", "someone", "all",
])

/** Words that end a role phrase: "the garlic from the chef" is not an agent called "garlic from the chef". */
const FUNCTION_WORDS = new Set([
  "the", "a", "an", "of", "from", "for", "with", "to", "in", "on", "at", "and", "or", "but", "is", "are", "was", "be",
  "can", "should", "will", "would", "not", "no", "so", "if", "as", "by", "about", "into", "than",
])

const refBoundary = /^(?=$|[\s,.:;!?'"-])/

/**
 * Reads an agent reference at the start of `text`: the name of an agent of this conversation ("Remy", "the Remy
 * bot"), a determiner and a role ("the trip planner", "my chef"), a catalog template's name ("trip planner"), or,
 * when the message is addressed to the manager, a bare role phrase or a capitalised name ("Jarvis").
 */
export const leadingRef = (
  text: string,
  ctx: MessageContext,
  addressed: boolean,
  templates: ReadonlyArray<TemplateInfo>,
): LeadingRef | undefined => {
  const determiner = /^(?:the|our|my|your)\s+/i.exec(text)
  const afterDeterminer = determiner ? text.slice(determiner[0].length) : text
  const known = [...(ctx.knownAgents ?? [])].sort((a, b) => b.length - a.length)
  for (const name of known) {
    const match = new RegExp(`^${escapeRegExp(name.trim())}(?:\\s+(?:bot|agent))?`, "i").exec(afterDeterminer)
    if (match && refBoundary.test(afterDeterminer.slice(match[0].length))) {
      return { ref: name.trim(), rest: afterDeterminer.slice(match[0].length).trim(), known: true }
    }
  }
  // The shortest run of up to four lower-case words that ends on a role noun or spells a template's name.
  const words = afterDeterminer.split(" ")
  for (let n = 1; n <= Math.min(4, words.length); n++) {
    const phrase = words.slice(0, n).join(" ")
    // A comma or colon ends the phrase: "trip planner, stop …" is about the trip planner.
    const punctuated = /[,.:;!?]$/.test(phrase)
    const bare = phrase.replace(/[,.:;!?]+$/, "").replace(/'s$/i, "")
    const lastWord = bare.split(" ").at(-1)!.toLowerCase()
    if (!/^[a-z][a-z-]*(?:\s+[a-z][a-z-]*)*$/i.test(bare) || PRONOUNS.has(lastWord) || FUNCTION_WORDS.has(lastWord)) break
    const last = bare.split(" ").at(-1)!
    const isTemplate = templates.some((t) => t.name.toLowerCase() === bare.toLowerCase())
    if (isTemplate || AGENT_NOUN.test(last)) {
      // "the agent", "the bot" alone name no one in particular ("fire the agent, he never calls back").
      const generic = /^(?:agent|bot|assistant|ai|helper|manager)s?$/i.test(bare)
      const trusted = addressed || (!generic && (determiner !== null || isTemplate))
      if (!trusted) return undefined
      const rest = afterDeterminer.slice(bare.length).trim()
      return { ref: bare, rest, known: false }
    }
    if (punctuated) break
  }
  if (addressed && !determiner) {
    const name = /^([A-Z][\w-]*)(?=$|[\s,.:;!?'"])/.exec(text)
    if (name && !NOT_A_NAME.has(name[1]!.toLowerCase())) return { ref: name[1]!, rest: text.slice(name[0].length).trim(), known: false }
  }
  return undefined
}

/** A text cut to `max` characters, with an ellipsis when cut. */
export const clip = (text: string, max: number) => (text.length <= max ? text : text.slice(0, max - 1).trimEnd() + "…")

/** Greetings and thanks to pass on: "tell Remy I said hi" is a message, not an instruction. */
export const PASSING_WORD = /^(?:i\s+said|we\s+said|hi|hello|hey|thanks|thank|good\s*(?:night|morning|bye|job)|congrats|happy|sorry|bye|i\s+love|we\s+love|i\s+miss|we\s+miss)\b/i
