/**
 * The product, as one layer graph: the pool core, its HTTP API, the reconcile/replenish loop and the manager agent.
 * `npm start` (main.ts) runs it with embedded defaults (PGlite under DATA_DIR, local processes, XMTP dev network);
 * `npm run demo` runs it offline against a fake XMTP node and a fake model.
 * `pool/src/main.ts` runs the pool alone, for deployments where the manager lives elsewhere.
 */
import { Cause, Config, Context, Duration, Effect, Layer, Schedule } from "effect"
import { HttpServer } from "effect/http"
import type { SqlClient } from "effect/sql"
import { HttpServerFromConfig } from "../pool/src/http/Server.ts"
import { Pool } from "../pool/src/Pool.ts"
import { PoolLive } from "../pool/src/PoolLive.ts"
import { Reconciler } from "../pool/src/Reconciler.ts"
import { ManagerLobby, XmtpChatConfig } from "../manager-agent/src/bot/XmtpChat.ts"
import { ModelConfig } from "../manager-agent/src/intent/IntentParser.ts"
import { ManagerAgentLayer } from "../manager-agent/src/ManagerAgent.ts"
import { ManagerSettingsConfig } from "../manager-agent/src/ManagerSettings.ts"
import { Templates } from "../pool/src/web/Templates.ts"

/** The first line of an error chain: what to tell an operator, without a stack. */
const reasonOf = (cause: Cause.Cause<unknown>) => {
  const error: unknown = Cause.squash(cause)
  const parts: Array<string> = []
  let current: unknown = error
  for (let depth = 0; current && depth < 4; depth++) {
    const message = (current as { message?: unknown }).message
    if (typeof message === "string" && message !== "" && !parts.includes(message)) parts.push(message)
    current = (current as { cause?: unknown }).cause
  }
  const reason = parts.join(": ") || String(error)
  return reason.length > 200 ? `${reason.slice(0, 200)}…` : reason
}

/**
 * The manager needs the XMTP network; the pool does not. When the network cannot be reached (no internet, a wrong
 * XMTP_API_URL), say so in one line and keep trying, while the pool and its API stay up.
 */
const ManagerWhenReachable = (onReady: (lobby: ManagerLobby["Service"]) => void) =>
  Layer.effectDiscard(
    Effect.gen(function*() {
      const enabled = yield* Config.Boolean("MANAGER_ENABLED").pipe(Config.withDefault(true))
      if (!enabled) return yield* Effect.logInfo("manager agent disabled (MANAGER_ENABLED=false)")
      // A bad manager setting is a mistake to fix, not a network to wait for: fail start-up with it now, before the
      // retry loop below (which waits for the network) could swallow it.
      const [chat] = yield* Effect.all([XmtpChatConfig, ManagerSettingsConfig, ModelConfig])
      const xmtpEnv = chat.env
      const context = yield* Effect.context<Pool | SqlClient.SqlClient | Templates>()
      const runManager = Effect.scoped(Effect.gen(function*() {
        const manager = yield* Layer.build(ManagerAgentLayer())
        onReady(Context.get(manager, ManagerLobby))
        return yield* Effect.never
      }))
      yield* runManager.pipe(
        Effect.provideContext(context),
        Effect.tapCause((cause) =>
          Cause.hasInterruptsOnly(cause)
            ? Effect.void
            : Effect.logWarning(
              `manager agent not started: the XMTP ${xmtpEnv} network is unreachable or refused us ` +
                `(${reasonOf(cause)}). The pool keeps running; retrying in 30 seconds.`,
            )
        ),
        Effect.retry(Schedule.spaced(Duration.seconds(30))),
        Effect.forkScoped,
      )
    }),
  )

/** Start-up report: where the API is (the address the server bound, not the settings again), and the pool filling up. */
const StartupReport = Layer.effectDiscard(
  Effect.gen(function*() {
    const pool = yield* Pool
    const address = (yield* HttpServer.HttpServer).address
    const where = address._tag === "UnixPathAddress"
      ? address.path
      : `http://${address._tag === "InetAddressV6" ? `[${address.address}]` : String(address.address)}:${address.port}`
    yield* Effect.logInfo(`pool API on ${where} (OpenAPI: /api/openapi.json; operator CLI: npm run pool -- status)`)
    yield* Effect.logInfo(`web page: ${where}/ (the agent catalog; set PUBLIC_URL for share links)`)
    yield* Effect.gen(function*() {
      let last = ""
      while (true) {
        const counts = yield* pool.counts
        const line = `pool: ${counts.idle} idle, ${counts.starting} warming, ${counts.claimed} claimed` +
          (counts.crashed + counts.dead > 0 ? `, ${counts.crashed} crashed, ${counts.dead} dead` : "")
        if (line !== last) yield* Effect.logInfo(line)
        last = line
        yield* Effect.sleep(counts.starting > 0 ? "2 seconds" : "30 seconds")
      }
    }).pipe(Effect.forkScoped)
  }),
)

export interface ProductOptions {
  /** Called once the manager is up, with its inbox id and lobby invite (the demo uses it to find the manager). */
  readonly onManagerReady?: (lobby: ManagerLobby["Service"]) => void
}

export const ProductLayer = (options: ProductOptions = {}) =>
  Layer.mergeAll(
    Reconciler.loop,
    ManagerWhenReachable(options.onManagerReady ?? (() => {})),
    StartupReport,
  ).pipe(Layer.provideMerge(HttpServerFromConfig), Layer.provide(PoolLive))
