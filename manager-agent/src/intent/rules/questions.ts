/** Questions with one answer each: who is here (list), what agents there are (templates), and calls for help. */
import type { MessageContext } from "../Intent.ts"
import { normalize, stripMention } from "../lexicon.ts"

const AGENTS = String.raw`(?:agents|bots|assistants|ais)`
const HERE = String.raw`(?:here|in\s+here|around|in\s+(?:this|the|our)\s+(?:group|chat|conversation|convo))`

/** Questions about the agents here that are unmistakable even in a group message addressed to nobody. */
export const LIST_ANYWHERE = [
  new RegExp(String.raw`^\/?(?:list|ls|agents|bots)$`, "i"),
  new RegExp(String.raw`^(?:list|show|show\s+me|see)\s+(?:all\s+)?(?:the\s+|your\s+|our\s+|my\s+)?${AGENTS}(?:\s+${HERE})?$`, "i"),
  new RegExp(String.raw`^who(?:'s|\s+is|\s+all\s+is|'s\s+all|\s+are\s+the\s+${AGENTS})\s+${HERE}(?:\s+now)?$`, "i"),
  new RegExp(String.raw`^(?:which|what)\s+${AGENTS}\s+(?:are|r)\s+(?:${HERE}|running|active|live)(?:\s+now)?$`, "i"),
  new RegExp(String.raw`^(?:which|what)\s+${AGENTS}\s+(?:do|did)\s+(?:we|you)\s+(?:have|spawn|add|create)(?:\s+here)?$`, "i"),
  new RegExp(String.raw`^how\s+many\s+${AGENTS}\s+(?:are\s+(?:there\s+)?${HERE}|do\s+we\s+have(?:\s+here)?)$`, "i"),
  new RegExp(String.raw`^who\s+(?:have\s+you|did\s+you)\s+(?:spawned|spawn|added|add)(?:\s+here)?$`, "i"),
]
/** Said to the manager: who it has added, in any wording that asks about agents or who is here. */
export const LIST_ADDRESSED = [
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

export const TEMPLATES_ANYWHERE = [
  /^\/?templates$/i,
  /^(?:list|show|show\s+me|see)\s+(?:the\s+|your\s+)?(?:templates|catalog|catalogue)$/i,
  new RegExp(String.raw`^what\s+(?:${AGENTS}|kinds?\s+of\s+${AGENTS}|types?\s+of\s+${AGENTS})\s+can\s+(?:you|i|we)\s+(?:spawn|make|create|add|get)(?:\s+here)?$`, "i"),
  /^what\s+can\s+you\s+(?:spawn|summon)$/i,
  /^what\s+templates\s+(?:are\s+there|do\s+you\s+have)$/i,
]

/** "can we get an agent to …" asks for one; "what agents can you make?" asks what there is. */
const ASKS_WHAT = /^(?:what|which|any|show|list|are\s+there|is\s+there|do\s+you\s+have|tell\s+me)\b/i

export const isCatalogQuestion = (command: string) =>
  /\b(?:templates?|catalog(?:ue)?)\b/i.test(command) ||
  (ASKS_WHAT.test(command) && CATALOG_CUE.test(command) && new RegExp(String.raw`\b(?:${AGENTS}|agent|bot|ones)\b`, "i").test(command)) ||
  /^what\s+(?:else\s+)?can\s+you\s+(?:spawn|summon|make|add|create)(?:\s+for\s+(?:me|us))?$/i.test(command)

/** A bare "help", "/help" or "?": answered wherever the manager is, addressed or not. */
export const BARE_HELP = /^(?:\/?help[!?.]*|\/start|\/commands|\?)$/i

/** Whether a message is a bare call for help: it has one meaning, so no model is asked about it. */
export const isBareHelp = (text: string, ctx: MessageContext) => BARE_HELP.test(stripMention(normalize(text), ctx.managerName).text)

export const HELP_ADDRESSED = [
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
