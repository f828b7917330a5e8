/**
 * Requests about an agent of the conversation: rename it, instruct it (a lasting rule, said to it or about it), or
 * remove it. A reference is trusted only when addressed to the manager, naming an agent here, or after a command verb.
 */
import type { Intent, MessageContext, TemplateInfo } from "../Intent.ts"
import { MAX_AGENT_NAME, MAX_INSTRUCTIONS } from "../Intent.ts"
import {
  clip,
  isUsableRef,
  leadingRef,
  looksLikeAgent,
  PASSING_WORD,
  stripArticle,
  type LeadingRef,
} from "../lexicon.ts"

/** "I want to rename …", "let's call …", "please kick …": the frame before an action verb carries nothing. */
export const ACTION_FRAME =
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

export const parseRename = (command: string, addressed: boolean, ctx: MessageContext, templates: ReadonlyArray<TemplateInfo>): Intent | undefined => {
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

export const parseInstruct = (
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

export const parseRemove = (command: string, addressed: boolean, ctx: MessageContext, templates: ReadonlyArray<TemplateInfo>): Intent | undefined => {
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
