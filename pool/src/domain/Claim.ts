import { agentNameProblem, DEFAULT_SKILLS, instructionsProblem, limits as contractLimits, SKILL_TAGS, type SkillTag } from "../../../contract/index.ts"

/** How an instance reaches its conversation (see docs/instance-contract.md). */
export type ProvisionMode = "create" | "join" | "add"

export interface ClaimRequest {
  readonly agentName: string
  readonly instructions: string
  readonly mode: ProvisionMode
  readonly joinUrl?: string | undefined
  readonly conversationId?: string | undefined
  /** Inbox id of the member who will add the instance (mode `add`). */
  readonly addedBy?: string | undefined
  /** Same key → same result, never a second instance. */
  readonly idempotencyKey?: string | undefined
  /** Who asked (an API client label, or the manager's sender inbox id). */
  readonly claimedBy?: string | undefined
  /** Inbox id of the manager bot claiming for a chat: the agent never answers its messages. */
  readonly managerInboxId?: string | undefined
  /** Which tools the agent gets (a template's skill tags); validateClaim gives a free-form agent DEFAULT_SKILLS. */
  readonly skills?: ReadonlyArray<SkillTag> | undefined
}

/** Why `skills` is not a list of known skill tags, each once, or null. */
export const skillsProblem = (skills: ReadonlyArray<string>): string | null => {
  const unknown = skills.find((s) => !(SKILL_TAGS as ReadonlyArray<string>).includes(s))
  if (unknown !== undefined) return `skills must be some of ${SKILL_TAGS.join(", ")} (not ${JSON.stringify(unknown.slice(0, 40))})`
  if (new Set(skills).size !== skills.length) return "skills must not repeat"
  return null
}

/** A new display name and/or instructions for a claimed agent. */
export interface ReconfigureRequest {
  readonly agentName?: string | undefined
  readonly instructions?: string | undefined
}

export interface ClaimResult {
  readonly instanceId: string
  readonly agentName: string
  readonly inboxId: string
  readonly status: "claimed" | "pending_acceptance"
  readonly conversationId: string | null
  readonly inviteUrl: string | null
  readonly joined: boolean
}

/** Progress of one claim, streamed to `GET /api/pool/claim/stream`. */
export type ClaimStep =
  | { readonly step: "claim"; readonly status: "active" | "ok" | "fail"; readonly message: string }
  | { readonly step: "provision"; readonly status: "active" | "ok" | "fail"; readonly message: string }
  | { readonly step: "convo"; readonly status: "ok" | "skip" | "pending"; readonly message: string }
  /** No warm agent was free, but a host has room: one is being made ready for this claim, in about `etaSeconds`. */
  | { readonly step: "capacity"; readonly status: "waiting"; readonly message: string; readonly etaSeconds: number }

export const defaultAgentName = "Assistant"
export const defaultInstructions = "You are a helpful AI assistant."
/** The contract's limits (one definition), plus the pool API's own. */
export const limits = {
  agentName: contractLimits.agentName,
  instructions: contractLimits.instructions,
  url: contractLimits.url,
  idempotencyKey: 200,
} as const

export type XmtpEnv = "dev" | "production" | "local"

/** Convos invite hosts per XMTP environment: a dev invite must not reach a production pool, and back. */
export const inviteHosts = (env: XmtpEnv): ReadonlyArray<string> =>
  env === "production"
    ? ["popup.convos.org", "convos.app", "convos.org"]
    : ["dev.convos.org", "convos.app", "convos.org", "localhost", "127.0.0.1"]

/** Checks that `joinUrl` is a Convos invite link of this pool's XMTP environment. Returns a reason, or null. */
export const joinUrlProblem = (joinUrl: string, env: XmtpEnv): string | null => {
  if (joinUrl.length > limits.url) return "joinUrl is too long"
  let url: URL
  try {
    url = new URL(joinUrl)
  } catch {
    return "joinUrl must be a Convos invite URL"
  }
  // convos://join/<slug>: the one app-link form the invite parser reads (`convos:x` is no invite).
  if (url.protocol === "convos:") {
    return url.host === "join" && INVITE_SLUG.test(url.pathname.slice(1)) ? null : "joinUrl must be a Convos invite URL"
  }
  if (url.protocol !== "https:" && !(env !== "production" && url.protocol === "http:")) {
    return "joinUrl must be a Convos invite URL"
  }
  const hosts = inviteHosts(env)
  if (!hosts.includes(url.hostname)) {
    const other = env === "production" ? "dev" : "production"
    return inviteHosts(other === "dev" ? "dev" : "production").includes(url.hostname)
      ? `joinUrl is a ${other} invite; this pool runs on the ${env} network`
      : "joinUrl must be a Convos invite URL"
  }
  // The forms the invite parser reads: `?i=`, legacy `?code=`, `/join/<slug>`; a slug is base64url with `*` breaks.
  const slug = url.searchParams.get("i") || url.searchParams.get("code") || /\/join\/([^/]+)/.exec(url.pathname)?.[1]
  if (!slug) return "joinUrl has no invite code"
  return INVITE_SLUG.test(slug) ? null : "joinUrl has no valid invite code"
}

/** An invite slug as convos/invite.ts accepts it (base64url or base64, `*` separators). */
const INVITE_SLUG = /^[A-Za-z0-9_\-*+/=]+$/
/** Conversation ids as the contract has them. */
export const CONVERSATION_ID = /^[0-9a-f]{32}$|^[0-9a-f-]{36}$/
/** Printable ASCII, as HTTP header values are meant to be: no control character reaches the database. */
const IDEMPOTENCY_KEY = /^[\x20-\x7e]+$/

const INBOX_ID = /^[0-9a-f]{64}$/

/**
 * Validates and normalises a claim. Pure: the HTTP API and the manager agent both go through it, so both give the
 * same answer to the same bad input.
 */
export const validateClaim = (
  input: {
    readonly agentName?: string | undefined
    readonly instructions?: string | undefined
    readonly mode?: ProvisionMode | undefined
    readonly joinUrl?: string | undefined
    readonly conversationId?: string | undefined
    readonly addedBy?: string | undefined
    readonly idempotencyKey?: string | undefined
    readonly claimedBy?: string | undefined
    readonly managerInboxId?: string | undefined
    readonly skills?: ReadonlyArray<string> | undefined
  },
  env: XmtpEnv,
): { readonly ok: true; readonly request: ClaimRequest } | { readonly ok: false; readonly error: string } => {
  const agentName = (input.agentName ?? defaultAgentName).trim()
  const instructions = (input.instructions ?? defaultInstructions).trim()
  const problem = agentNameProblem(agentName) ?? instructionsProblem(instructions)
  if (problem !== null) return { ok: false, error: problem }
  if (input.managerInboxId !== undefined && !INBOX_ID.test(input.managerInboxId)) {
    return { ok: false, error: "managerInboxId must be an inbox id (64 lower-case hex characters)" }
  }
  const skillProblem = input.skills === undefined ? null : skillsProblem(input.skills)
  if (skillProblem !== null) return { ok: false, error: skillProblem }
  const mode = input.mode ?? (input.joinUrl !== undefined ? "join" : "create")
  if (mode === "join") {
    if (input.joinUrl === undefined) return { ok: false, error: "joinUrl is required to join a conversation" }
    const problem = joinUrlProblem(input.joinUrl.trim(), env)
    if (problem) return { ok: false, error: problem }
  } else if (input.joinUrl !== undefined) {
    return { ok: false, error: `joinUrl is only used to join a conversation, not with mode ${mode}` }
  }
  if (mode === "add") {
    if (!input.conversationId) return { ok: false, error: "conversationId is required to add an agent to a conversation" }
    if (!CONVERSATION_ID.test(input.conversationId)) return { ok: false, error: "conversationId must be a conversation id" }
    if (!input.addedBy) return { ok: false, error: "addedBy is required to add an agent to a conversation" }
    if (!INBOX_ID.test(input.addedBy)) return { ok: false, error: "addedBy must be an inbox id (64 lower-case hex characters)" }
  } else if (input.conversationId !== undefined || input.addedBy !== undefined) {
    return { ok: false, error: `conversationId and addedBy are only used to add an agent, not with mode ${mode}` }
  }
  if (
    input.idempotencyKey !== undefined &&
    (input.idempotencyKey.length > limits.idempotencyKey || !IDEMPOTENCY_KEY.test(input.idempotencyKey))
  ) {
    return { ok: false, error: `Idempotency-Key must be 1 to ${limits.idempotencyKey} printable ASCII characters` }
  }
  if (input.claimedBy !== undefined && (input.claimedBy.length > limits.idempotencyKey || !IDEMPOTENCY_KEY.test(input.claimedBy))) {
    return { ok: false, error: "claimedBy must be printable ASCII" }
  }
  return {
    ok: true,
    request: {
      agentName,
      instructions,
      mode,
      joinUrl: input.joinUrl?.trim(),
      conversationId: input.conversationId,
      addedBy: input.addedBy,
      idempotencyKey: input.idempotencyKey,
      claimedBy: input.claimedBy,
      managerInboxId: input.managerInboxId,
      skills: (input.skills as ReadonlyArray<SkillTag> | undefined) ?? DEFAULT_SKILLS,
    },
  }
}

/** Validates a change of name and/or instructions with the same rules as a claim. Pure. */
export const validateReconfigure = (
  input: ReconfigureRequest,
): { readonly ok: true; readonly request: ReconfigureRequest } | { readonly ok: false; readonly error: string } => {
  const agentName = input.agentName?.trim()
  const instructions = input.instructions?.trim()
  if (agentName === undefined && instructions === undefined) return { ok: false, error: "give agentName, instructions or both" }
  const problem = (agentName === undefined ? null : agentNameProblem(agentName)) ??
    (instructions === undefined ? null : instructionsProblem(instructions))
  if (problem !== null) return { ok: false, error: problem }
  return {
    ok: true,
    request: {
      ...(agentName === undefined ? {} : { agentName }),
      ...(instructions === undefined ? {} : { instructions }),
    },
  }
}

