/**
 * The instance contract: the one definition of what the pool and a runtime host say to each other
 * (docs/instance-contract.md). The pool, the host's supervisor, the convos plugin and the test instance server all
 * decode with these schemas. It imports nothing but `effect` and uses only erasable TypeScript, so the supervisor can
 * run it under Node's own type stripping and the plugin can load it by path from its copy. It imports effect's modules
 * by sub-path: the supervisor and the gateway load it unbundled, and the `effect` index loads every module (~14 MB
 * more heap in the supervisor).
 *
 * A host is one supervisor + one OpenClaw gateway with up to `capacity` agent slots. A slot is one agent: its own
 * OpenClaw agent entry (workspace, agentDir), its own convos account (XMTP identity and state) and the binding
 * between them. The pool's instance id is the slot id.
 */
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"

export const limits = {
  agentName: 64,
  instructions: 10_000,
  url: 2_048,
  /** Token length bounds (hex of 32 random bytes is 64). */
  tokenMin: 16,
  tokenMax: 256,
  /** Most slots one host may be asked to hold. */
  slotsPerHost: 32,
  /** Tool variables a slot may carry, and their sizes. */
  toolVars: 16,
  toolValue: 512,
  /** Inbound notices (email, SMS): sender, subject or failure reason, SMS text. */
  inboundFrom: 320,
  inboundSubject: 300,
  inboundText: 1_600,
} as const

// ---------------------------------------------------------------------------------------------------- text rules

/** C0/C1 controls, bidi overrides and isolates, zero-width characters and the BOM: never in a name. */
const UNSAFE_IN_NAME = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/

/** Why `name` is not a usable agent name (one line, visible characters only), or null. */
export const agentNameProblem = (name: string): string | null => {
  if (name.trim() === "") return "agentName must not be empty"
  if (name.length > limits.agentName) return `agentName must be at most ${limits.agentName} characters`
  if (UNSAFE_IN_NAME.test(name)) return "agentName must be one line of visible text (no control, bidi or zero-width characters)"
  if (name !== name.trim()) return "agentName must not start or end with spaces"
  return null
}

/** Why `text` is not usable as instructions (multi-line text, no NUL), or null. */
export const instructionsProblem = (text: string): string | null => {
  if (text.trim() === "") return "instructions must not be empty"
  if (text.length > limits.instructions) return `instructions must be at most ${limits.instructions} characters`
  if (text.includes("\u0000")) return "instructions must not contain NUL characters"
  return null
}

const withProblem = (problem: (s: string) => string | null) =>
  Schema.makeFilter<string>((s) => {
    const p = problem(s)
    return p === null ? undefined : p
  })

export const AgentName = Schema.String.check(withProblem(agentNameProblem))
export const Instructions = Schema.String.check(withProblem(instructionsProblem))

// ---------------------------------------------------------------------------------------------------- ids

/** Slot ids are the pool's instance ids: lower-case letters and digits, never `default` (OpenClaw's reserved account). */
export const SLOT_ID = /^[a-z0-9]{6,32}$/
export const SlotId = Schema.String.check(
  Schema.isPattern(SLOT_ID),
  Schema.makeFilter<string>((s) => (s === "default" ? "a slot id must not be \"default\"" : undefined)),
)
export const InboxId = Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}$/))
export const ConversationId = Schema.String.check(Schema.isPattern(/^[0-9a-f]{32}$|^[0-9a-f-]{36}$/))
export const Token = Schema.String.check(Schema.isMinLength(limits.tokenMin), Schema.isMaxLength(limits.tokenMax))
const Url = Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(limits.url))

// ---------------------------------------------------------------------------------------------------- slot routes
// Authenticated by the slot's own token (`Authorization: Bearer <slot token>`): a slot's token opens only that slot.

export const ProvisionMode = Schema.Literals(["create", "join", "add"])
export type ProvisionMode = typeof ProvisionMode.Type

/** A template's skill tags: which of its tools an agent gets (each also needs what its slot can offer). */
export const SKILL_TAGS = ["web", "memory", "reminders", "email", "sms"] as const
export const SkillTag = Schema.Literals(SKILL_TAGS)
export type SkillTag = typeof SkillTag.Type
/** The skills of an agent made without a template (and of a provision that names none). */
export const DEFAULT_SKILLS: ReadonlyArray<SkillTag> = ["web", "memory", "reminders"]

const persona = {
  agentName: AgentName,
  instructions: Instructions,
  /** The manager bot that claims for a chat: the agent never answers its messages. */
  managerInboxId: Schema.optional(InboxId),
  /** The agent's skill tags, kept with its binding (absent: DEFAULT_SKILLS). */
  skills: Schema.optional(Schema.Array(SkillTag).check(Schema.isMaxLength(SKILL_TAGS.length))),
}

/** `POST /slots/:slotId/provision`. */
export const ProvisionRequest = Schema.Union([
  Schema.Struct({ mode: Schema.Literal("create"), ...persona }),
  Schema.Struct({ mode: Schema.Literal("join"), joinUrl: Url, ...persona }),
  Schema.Struct({ mode: Schema.Literal("add"), conversationId: ConversationId, addedBy: InboxId, ...persona }),
])
export type ProvisionRequest = typeof ProvisionRequest.Type

export const ProvisionReply = Schema.Struct({
  status: Schema.Literals(["created", "joined", "pending_acceptance", "added"]),
  conversationId: Schema.NullOr(ConversationId),
  inviteUrl: Schema.NullOr(Schema.String),
})
export type ProvisionReply = typeof ProvisionReply.Type

/** `POST /slots/:slotId/configure`: a new name and/or instructions (at least one). */
export const ConfigureRequest = Schema.Struct({
  agentName: Schema.optional(AgentName),
  instructions: Schema.optional(Instructions),
}).check(
  Schema.makeFilter((c) => (c.agentName === undefined && c.instructions === undefined ? "give agentName, instructions or both" : undefined)),
)
export type ConfigureRequest = typeof ConfigureRequest.Type

export const ConfigureReply = Schema.Struct({ status: Schema.Literal("configured"), agentName: AgentName })
export type ConfigureReply = typeof ConfigureReply.Type

/** `POST /slots/:slotId/reset`: clean when nothing is bound and nothing is in flight (it may go back to idle). */
export const ResetReply = Schema.Struct({ clean: Schema.Boolean })
export type ResetReply = typeof ResetReply.Type

/**
 * `POST /slots/:slotId/inbound`: something arrived for the agent's own inbox or number (the pool received the
 * provider's verified webhook), or a text it sent could not be delivered. The agent tells its conversation who it is
 * from and what it is about, not the content unless asked. Sizes are bounded; the text is a stranger's.
 */
export const InboundNotice = Schema.Union([
  Schema.Struct({
    kind: Schema.Literal("email"),
    from: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(limits.inboundFrom)),
    subject: Schema.NullOr(Schema.String.check(Schema.isMaxLength(limits.inboundSubject))),
    /** For the agent's `email_read` tool, when someone asks what it says. */
    messageId: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(1_000)),
  }),
  Schema.Struct({
    kind: Schema.Literal("sms"),
    from: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(limits.inboundFrom)),
    text: Schema.String.check(Schema.isMaxLength(limits.inboundText)),
  }),
  Schema.Struct({
    kind: Schema.Literal("sms_failed"),
    to: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(limits.inboundFrom)),
    reason: Schema.String.check(Schema.isMaxLength(limits.inboundSubject)),
  }),
])
export type InboundNotice = typeof InboundNotice.Type

/** `delivered: false` when the agent has no conversation yet (nothing to tell). */
export const InboundReply = Schema.Struct({ delivered: Schema.Boolean })
export type InboundReply = typeof InboundReply.Type

/** One slot as its host reports it (`GET /slots/:slotId/health`, and each entry of the host's health). */
export const SlotHealth = Schema.Struct({
  slotId: SlotId,
  /** True only when the slot can take a provision now: account streaming, identity registered, warm-up turn done. */
  ready: Schema.Boolean,
  inboxId: Schema.NullOr(InboxId),
  conversationId: Schema.NullOr(ConversationId),
})
export type SlotHealth = typeof SlotHealth.Type

// ---------------------------------------------------------------------------------------------------- host routes
// Authenticated by the host token (`Authorization: Bearer <HOST_TOKEN>`), which only the pool holds.

/** The model a slot's agent calls: exactly one key, its own when it has one. */
export const SlotModel = Schema.Union([
  Schema.Struct({ kind: Schema.Literal("openrouter"), apiKey: Token, model: Schema.String }),
  Schema.Struct({ kind: Schema.Literal("openai-compatible"), baseUrl: Url, apiKey: Schema.String, model: Schema.String }),
  Schema.Struct({ kind: Schema.Literal("none") }),
])
export type SlotModel = typeof SlotModel.Type

/** AGENTMAIL_* and TELNYX_*: the slot's resources (which tools its agent may use is its provision's `skills`). */
const TOOL_VAR = /^(AGENTMAIL|TELNYX)_[A-Z0-9_]{1,64}$/

/** `PUT /host/slots/:slotId`: create (or re-send) a slot. Idempotent for the same token. */
export const SlotSpec = Schema.Struct({
  /** The slot's own token: opens its slot routes, and authenticates its calls to the pool. */
  token: Token,
  model: SlotModel,
  /** Per-agent tool variables (AGENTMAIL_INBOX_ID, TELNYX_PHONE_NUMBER, …): which tools the agent gets. */
  tools: Schema.Record(Schema.String, Schema.String.check(Schema.isMaxLength(limits.toolValue))).check(
    Schema.makeFilter((r) => {
      const names = Object.keys(r)
      if (names.length > limits.toolVars) return `at most ${limits.toolVars} tool variables`
      const other = names.find((name) => !TOOL_VAR.test(name))
      return other === undefined ? undefined : `${other} is not a tool variable (AGENTMAIL_* or TELNYX_*)`
    }),
  ),
  /**
   * false: a claim is already waiting for this slot, so it is ready as soon as its agent can join, and its first real
   * turn pays the start-up cost the warm-up turn would have paid first (absent: warm up, as every idle slot does).
   */
  warmUp: Schema.optional(Schema.Boolean),
})
export type SlotSpec = typeof SlotSpec.Type

/** `GET /host/health`: the whole host in one answer (one call per host per reconcile tick). */
export const HostHealth = Schema.Struct({
  hostId: Schema.String,
  version: Schema.String,
  /** The gateway is up; while it restarts every slot reports not ready. */
  gatewayReady: Schema.Boolean,
  capacity: Schema.Int,
  slots: Schema.Array(SlotHealth),
})
export type HostHealth = typeof HostHealth.Type

/** Every error answer, on every route of either side. */
export const ErrorBody = Schema.Struct({ error: Schema.String })

// ---------------------------------------------------------------------------------------------------- host → pool
// A slot's calls back to the pool, made by the supervisor with that slot's token.

/** `POST {POOL_URL}/api/pool/self-destruct`. */
export const SelfDestructBody = Schema.Struct({ instanceId: SlotId, token: Token })
/** `POST {POOL_URL}/api/pool/joined`: a pending join was accepted. */
export const JoinedBody = Schema.Struct({ instanceId: SlotId, token: Token, conversationId: ConversationId })

// ---------------------------------------------------------------------------------------------------- paths + env

export const paths = {
  hostHealth: "/host/health",
  hostSlot: (slotId: string) => `/host/slots/${slotId}`,
  slotHealth: (slotId: string) => `/slots/${slotId}/health`,
  slotProvision: (slotId: string) => `/slots/${slotId}/provision`,
  slotConfigure: (slotId: string) => `/slots/${slotId}/configure`,
  slotReset: (slotId: string) => `/slots/${slotId}/reset`,
  slotInbound: (slotId: string) => `/slots/${slotId}/inbound`,
} as const

/** The environment the pool gives a host process (or container). Slots come later, over `PUT /host/slots/:id`. */
export const HostEnv = Schema.Struct({
  HOST_ID: SlotId,
  HOST_TOKEN: Token,
  /** How many slots this host holds at most. */
  HOST_CAPACITY: Schema.NumberFromString.check(Schema.isInt(), Schema.isBetween({ minimum: 1, maximum: limits.slotsPerHost })),
  PORT: Schema.NumberFromString.check(Schema.isInt(), Schema.isBetween({ minimum: 1, maximum: 65_535 })),
  STATE_DIR: Schema.String.check(Schema.isMinLength(1)),
  POOL_URL: Schema.optional(Url),
  BIND_HOST: Schema.optional(Schema.String),
  XMTP_ENV: Schema.optional(Schema.Literals(["local", "dev", "production"])),
  XMTP_API_URL: Schema.optional(Url),
})
export type HostEnv = typeof HostEnv.Type

/**
 * How a host process is launched, from the repository root (the pool's local compute, the runtime's Dockerfile and
 * the tests): Node 24 runs the supervisor as is (type stripping). Its young generation is kept small: the supervisor
 * only proxies and supervises, and the default semi-spaces kept ~25 MB more resident per host (bench:density).
 */
export const hostLaunch = { nodeFlags: ["--max-semi-space-size=1"], entry: "runtime/src/main.ts" } as const

// ---------------------------------------------------------------------------------------------------- decoding

export type Decoded<A> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly error: string }

/**
 * A decoder answering the value, or one line saying what is wrong and where (unknown fields are an error). For callers
 * that load this module by path and so cannot share its `effect` (the convos plugin inside the gateway).
 */
export const decoderFor = <S extends Schema.Codec<unknown, unknown, never, unknown>>(schema: S) => {
  const decode = Schema.decodeUnknownExit(schema)
  return (input: unknown): Decoded<S["Type"]> => {
    const exit = decode(input, { errors: "first", onExcessProperty: "error" })
    if (Exit.isSuccess(exit)) return { ok: true, value: exit.value }
    return { ok: false, error: String(Cause.squash(exit.cause)).replace(/^SchemaError\(|\)$/g, "").replace(/\s+/g, " ").trim() }
  }
}
