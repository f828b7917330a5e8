/**
 * The rule-based intent parser: the path used when no model is configured, or when the model fails.
 * Pure and deterministic. It reads a message in three steps: tidy it (mention, greeting, polite frame, emoji), find
 * the request's frame (a command verb, "we need …", "I'd like …", a bare role in a DM), then resolve what it is about
 * (a role to spawn, an agent of the conversation). In a group it errs on the side of `none`: a message not addressed
 * to the manager only counts when it is an obvious command about an agent ("spawn a trip planner here", "remove the
 * chef", "Remy's job is now to …" when Remy is an agent here). A false spawn or remove is worse than a `none`.
 */
import type { Intent, MessageContext, TemplateInfo } from "./Intent.ts"
import { cleanCommand, fixVerbTypo, normalize, stripMention } from "./lexicon.ts"
import { ACTION_FRAME, parseInstruct, parseRemove, parseRename } from "./rules/agents.ts"
import { BARE_HELP, HELP_ADDRESSED, isCatalogQuestion, LIST_ADDRESSED, LIST_ANYWHERE, TEMPLATES_ANYWHERE } from "./rules/questions.ts"
import { parseSpawn } from "./rules/spawn.ts"

export { stripMention } from "./lexicon.ts"
export { isBareHelp } from "./rules/questions.ts"

const INVITE_URL = /https?:\/\/[^\s<>"]+[?&]i=[^\s<>"]+/i

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
