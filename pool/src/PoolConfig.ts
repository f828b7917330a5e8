import { Config, Context, Duration, Effect, Layer, Option, Schema } from "effect"
import { limits, type SlotModel } from "../../contract/index.ts"
import type { XmtpEnv } from "./domain/Claim.ts"

/**
 * The pool core's settings, each read once, here (every variable is listed in .env.example and docs/), `PORT`
 * included (the HTTP server listens on it; the default public URL names it). Not here: the server's `HOST` and
 * `LOG_HTTP_REQUESTS` (http/Server.ts, their only reader), and `DATA_DIR` (the `DataDir` service, which the
 * database, local-host, API-key and token-secret layers ask for).
 */
export interface PoolSettings {
  /** The HTTP API's port (`PORT`, default 3001). */
  readonly port: number
  readonly targetIdle: number
  /** Agents (slots) at most, over all hosts. */
  readonly maxTotal: number
  /** Slots per host (`POOL_AGENTS_PER_HOST`, default 8; 1 = one agent per gateway, the strictest isolation). */
  readonly agentsPerHost: number
  readonly createConcurrency: number
  readonly xmtpEnv: XmtpEnv
  /** Base URL hosts use to call the pool back. */
  readonly publicUrl: string
  readonly startTimeout: Duration.Duration
  readonly reconcileInterval: Duration.Duration
  readonly pendingAcceptanceTimeout: Duration.Duration
  readonly unhealthyAfter: number
  /** How long shutdown waits for claims in flight. */
  readonly shutdownGrace: Duration.Duration
  /** `XMTP_API_URL` for every host (a local or private XMTP node), when set. */
  readonly xmtpApiUrl: string | undefined
  /** The shared model settings a slot gets when it has no OpenRouter key of its own (`kind: "none"` without them). */
  readonly sharedModel: SlotModel
  /** The model a slot with its own OpenRouter key calls. */
  readonly openRouterModel: string
}

/** `PORT`, default 3001: the pool reads it here; the operator CLI (another process) reads the same definition. */
export const portConfig = Config.Port("PORT").pipe(Config.withDefault(3001))

export class PoolConfig extends Context.Service<PoolConfig, PoolSettings>()("pool/PoolConfig") {
  static readonly layer = Layer.effect(
    PoolConfig,
    Effect.gen(function*() {
      const port = yield* portConfig
      const optional = (name: string) =>
        Config.option(Config.String(name)).pipe(Config.map((v) => Option.getOrUndefined(Option.filter(v, (s) => s !== ""))))
      // The shared model (AGENT_MODEL_*), for deployments without per-agent OpenRouter keys; with them, each slot
      // gets its own key instead (exactly one key per slot either way).
      const baseUrl = yield* optional("AGENT_MODEL_BASE_URL")
      const model = yield* optional("AGENT_MODEL")
      const sharedModel: SlotModel = baseUrl === undefined
        ? { kind: "none" }
        : { kind: "openai-compatible", baseUrl, apiKey: (yield* optional("AGENT_MODEL_API_KEY")) ?? "sk-none", model: model ?? "" }
      const settings: PoolSettings = {
        port,
        targetIdle: yield* Config.Int("POOL_TARGET_IDLE").pipe(Config.withDefault(1)),
        maxTotal: yield* Config.Int("POOL_MAX_TOTAL").pipe(Config.withDefault(4)),
        agentsPerHost: yield* Config.schema(
          Schema.NumberFromString.check(Schema.isInt(), Schema.isBetween({ minimum: 1, maximum: limits.slotsPerHost })),
          "POOL_AGENTS_PER_HOST",
        ).pipe(Config.withDefault(8)),
        createConcurrency: yield* Config.Int("POOL_CREATE_CONCURRENCY").pipe(Config.withDefault(2)),
        xmtpEnv: yield* Config.Literals(["dev", "production", "local"], "XMTP_ENV").pipe(Config.withDefault("dev" as const)),
        publicUrl: yield* Config.String("POOL_PUBLIC_URL").pipe(Config.withDefault(`http://127.0.0.1:${port}`)),
        startTimeout: yield* Config.Duration("POOL_START_TIMEOUT").pipe(Config.withDefault(Duration.minutes(3))),
        reconcileInterval: yield* Config.Duration("POOL_RECONCILE_INTERVAL").pipe(Config.withDefault(Duration.seconds(15))),
        pendingAcceptanceTimeout: yield* Config.Duration("POOL_PENDING_ACCEPTANCE_TIMEOUT").pipe(
          Config.withDefault(Duration.hours(24)),
        ),
        unhealthyAfter: yield* Config.Int("POOL_UNHEALTHY_AFTER").pipe(Config.withDefault(3)),
        shutdownGrace: yield* Config.Duration("POOL_SHUTDOWN_GRACE").pipe(Config.withDefault(Duration.seconds(30))),
        xmtpApiUrl: yield* optional("XMTP_API_URL"),
        sharedModel,
        openRouterModel: model ?? defaultOpenRouterModel,
      }
      return PoolConfig.of(settings)
    }),
  )

  static readonly layerWith = (settings: Partial<PoolSettings>) =>
    Layer.succeed(PoolConfig, PoolConfig.of({ ...defaults, ...settings }))
}

/** The runtime's own default for an OpenRouter key without a named model. */
const defaultOpenRouterModel = "anthropic/claude-sonnet-4.5"

export const defaults: PoolSettings = {
  port: 3001,
  targetIdle: 1,
  maxTotal: 4,
  agentsPerHost: 8,
  createConcurrency: 2,
  xmtpEnv: "dev",
  publicUrl: "http://127.0.0.1:3001",
  startTimeout: Duration.minutes(3),
  reconcileInterval: Duration.seconds(15),
  pendingAcceptanceTimeout: Duration.hours(24),
  unhealthyAfter: 3,
  shutdownGrace: Duration.seconds(30),
  xmtpApiUrl: undefined,
  sharedModel: { kind: "none" },
  openRouterModel: "anthropic/claude-sonnet-4.5",
}
