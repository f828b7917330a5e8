import { Config, Context, Duration, Effect, Layer, Option } from "effect"
import type { XmtpEnv } from "./domain/Claim.ts"

/** The pool's settings, read once from the environment (every variable is listed in .env.example and docs/). */
export interface PoolSettings {
  readonly targetIdle: number
  readonly maxTotal: number
  readonly createConcurrency: number
  readonly xmtpEnv: XmtpEnv
  /** Base URL instances use to call the pool back. */
  readonly publicUrl: string
  readonly startTimeout: Duration.Duration
  readonly reconcileInterval: Duration.Duration
  readonly pendingAcceptanceTimeout: Duration.Duration
  readonly unhealthyAfter: number
  /** How long shutdown waits for claims in flight. */
  readonly shutdownGrace: Duration.Duration
  /** Extra environment every instance gets (XMTP API URL, shared model settings). Never a provider master key. */
  readonly instanceEnv: Readonly<Record<string, string>>
}

export class PoolConfig extends Context.Service<PoolConfig, PoolSettings>()("pool/PoolConfig") {
  static readonly layer = Layer.effect(
    PoolConfig,
    Effect.gen(function*() {
      const port = yield* Config.Port("PORT").pipe(Config.withDefault(3001))
      const optional = (name: string) => Config.option(Config.String(name))
      // Pool variable → the instance variable it becomes (docs/instance-contract.md). AGENT_MODEL_API_KEY is a
      // shared model key for deployments without per-agent OpenRouter keys; with them, each agent gets its own.
      const passThrough: ReadonlyArray<readonly [string, string]> = [
        ["XMTP_API_URL", "XMTP_API_URL"],
        ["AGENT_MODEL_BASE_URL", "OPENAI_BASE_URL"],
        ["AGENT_MODEL_API_KEY", "OPENAI_API_KEY"],
        ["AGENT_MODEL", "MODEL"],
      ]
      const extra: Record<string, string> = {}
      for (const [name, instanceName] of passThrough) {
        const value = yield* optional(name)
        if (Option.isSome(value) && value.value !== "") extra[instanceName] = value.value
      }
      const settings: PoolSettings = {
        targetIdle: yield* Config.Int("POOL_TARGET_IDLE").pipe(Config.withDefault(1)),
        maxTotal: yield* Config.Int("POOL_MAX_TOTAL").pipe(Config.withDefault(4)),
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
        instanceEnv: extra,
      }
      return PoolConfig.of(settings)
    }),
  )

  static readonly layerWith = (settings: Partial<PoolSettings>) =>
    Layer.succeed(PoolConfig, PoolConfig.of({ ...defaults, ...settings }))
}

export const defaults: PoolSettings = {
  targetIdle: 1,
  maxTotal: 4,
  createConcurrency: 2,
  xmtpEnv: "dev",
  publicUrl: "http://127.0.0.1:3001",
  startTimeout: Duration.minutes(3),
  reconcileInterval: Duration.seconds(15),
  pendingAcceptanceTimeout: Duration.hours(24),
  unhealthyAfter: 3,
  shutdownGrace: Duration.seconds(30),
  instanceEnv: {},
}
