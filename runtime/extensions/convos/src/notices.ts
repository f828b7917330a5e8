/**
 * The plugin's outbound edge: nothing internal reaches a chat. OpenClaw hands a channel its own notices as ordinary
 * replies: "⚠️ Gateway is restarting. Please wait a few seconds and try again." when a message arrives while the
 * gateway drains for a stop (the agent being removed) or a turn is aborted for a restart, and the like for model,
 * session and context failures. Some carry flags on the reply payload (`isError`, `isStatusNotice`, …); the restart
 * notice carries none (its marker is private to OpenClaw), so the texts are recognised too. A reply that would leak
 * a stack trace, a key, a token or an id is dropped as well. Pure; the caller logs what it drops, at debug.
 */

/** The reply-payload flags OpenClaw sets on what is not the assistant's answer (`ReplyPayload` in its plugin SDK). */
export interface PayloadFlags {
  readonly isError?: boolean | undefined
  readonly isStatusNotice?: boolean | undefined
  readonly isCompactionNotice?: boolean | undefined
  readonly isFallbackNotice?: boolean | undefined
  readonly isReasoning?: boolean | undefined
  readonly isCommentary?: boolean | undefined
}

export type DropReason = "flagged_notice" | "gateway_notice" | "stack_trace" | "secret_or_id"

export type OutboundVerdict = { readonly send: true } | { readonly send: false; readonly reason: DropReason }

const FLAGS: ReadonlyArray<keyof PayloadFlags> = ["isError", "isStatusNotice", "isCompactionNotice", "isFallbackNotice", "isReasoning", "isCommentary"]

/**
 * OpenClaw's notices and command replies start with a sign: ⚠️ for failures and lifecycle notices (about 160 texts in
 * `openclaw/dist`, many built from error messages), ❌ for refused commands. Our agent writes plain text and is told not
 * to open with them (workspace AGENTS.md), so a reply that does is taken for a notice.
 */
const NOTICE_SIGN = /^\s*(?:\u26A0|\u274C|\u{1F6D1}|\u26D4)/u
/**
 * Notices without a sign: the restart notice passed on without it, and the restart-recovery notices OpenClaw sends
 * through the channel's outbound after a crash ("I'm continuing your interrupted request now (the gateway has just
 * restarted)…", "I couldn't continue this session after a gateway restart…", "I couldn't confirm whether my previous
 * reply reached this chat…"). An agent's own words about travel or cooking never mention the gateway restarting.
 */
const BARE_NOTICE = [
  /\bgateway (is|has just|was) (restarting|restarted|draining|shutting down)\b/i,
  /\b(after|before|by) (a|the) gateway restart/i,
  /\bprevious run is still shutting down\b/i,
  /\bwhether my previous reply reached this chat\b/i,
]

/** A JavaScript stack frame (`at fn (file:///x.mjs:1:2)`, `at file:///x.mjs:1:2`, `at node:internal/…`). */
const STACK_FRAME = /^\s*at\s+(?:.+\s\()?(?:file:\/\/|node:|\/|[A-Za-z]:\\)[^\n]*:\d+(?::\d+)?\)?\s*$/m

/**
 * Keys, tokens and ids: OpenAI-style keys, bearer tokens, PEM private keys, JWTs, and runs of 32+ hex digits (inbox
 * and conversation ids, wallet and database keys, instance tokens).
 */
const SECRET_OR_ID = [
  /\bsk-[A-Za-z0-9_-]{16,}/,
  /\bBearer\s+[A-Za-z0-9._~+/=-]{16,}/i,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
  /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\./,
  /(?:^|[^0-9a-f])(?:0x)?[0-9a-f]{32,}(?![0-9a-f])/i,
]

export const classifyOutbound = (text: string, flags: PayloadFlags = {}): OutboundVerdict => {
  if (FLAGS.some((flag) => flags[flag] === true)) return { send: false, reason: "flagged_notice" }
  if (NOTICE_SIGN.test(text) || BARE_NOTICE.some((pattern) => pattern.test(text))) return { send: false, reason: "gateway_notice" }
  if (STACK_FRAME.test(text)) return { send: false, reason: "stack_trace" }
  if (SECRET_OR_ID.some((pattern) => pattern.test(text))) return { send: false, reason: "secret_or_id" }
  return { send: true }
}

/** What may be logged about a dropped reply: notices are OpenClaw's own words; anything else only by its size. */
export const describeDropped = (text: string, reason: DropReason): string =>
  (reason === "flagged_notice" || reason === "gateway_notice") && !SECRET_OR_ID.some((pattern) => pattern.test(text)) && !STACK_FRAME.test(text)
    ? `${reason}: ${JSON.stringify(text.slice(0, 200))}`
    : `${reason}: ${text.length} characters`
