import { Context, Duration, Effect, Layer, Option, Schedule } from "effect"
import { ComputeProvider, type ComputeState } from "./compute/ComputeProvider.ts"
import { Instances } from "./db/Instances.ts"
import { decide, type Observation } from "./domain/reconcile.ts"
import { InstanceClient } from "./InstanceClient.ts"
import { InstanceTokens } from "./InstanceTokens.ts"
import { Pool } from "./Pool.ts"
import { PoolConfig } from "./PoolConfig.ts"
import { PoolProcess } from "./PoolProcess.ts"

export interface TickReport {
  readonly checked: number
  readonly transitions: number
  readonly reaped: number
  readonly orphans: number
  readonly created: number
}

/**
 * One reconcile tick: batch compute status + a health check of every instance (idle ones too) → decisions from the
 * pure `decide` → transitions, reaping of dead never-claimed instances, orphan clean-up, then replenish.
 */
export class Reconciler extends Context.Service<Reconciler, {
  readonly tick: Effect.Effect<TickReport>
}>()("pool/Reconciler") {
  static readonly layer = Layer.effect(
    Reconciler,
    Effect.gen(function*() {
      const instances = yield* Instances
      const compute = yield* ComputeProvider
      const client = yield* InstanceClient
      const tokens = yield* InstanceTokens
      const pool = yield* Pool
      const config = yield* PoolConfig
      const processInfo = yield* PoolProcess

      const policy = {
        startTimeoutMs: Duration.toMillis(config.startTimeout),
        unhealthyAfter: config.unhealthyAfter,
        pendingAcceptanceTimeoutMs: Duration.toMillis(config.pendingAcceptanceTimeout),
      }

      const tick = Effect.gen(function*() {
        const rows = yield* instances.list()
        const withCompute = rows.filter((r) => Object.keys(r.compute_ref).length > 0)
        const survey = yield* compute.survey(withCompute.map((r) => ({ instanceId: r.id, ref: r.compute_ref }))).pipe(
          Effect.orElseSucceed(() => null),
        )
        const states = survey?.states ?? null
        if (survey === null) yield* Effect.logWarning("compute status unavailable; skipping compute-based decisions")
        const aliveOwners = yield* processInfo.aliveAmong(rows.flatMap((r) => r.owner === null ? [] : [r.owner]))
        const now = Date.now()

        // 1. Observe: compute state and a health check of every instance that should be up (idle ones too).
        const observed = yield* Effect.forEach(rows, (row) =>
          Effect.gen(function*() {
            const hasCompute = Object.keys(row.compute_ref).length > 0
            const state: ComputeState = !hasCompute ? "gone" : states?.get(row.id) ?? "running"
            const askHealth = hasCompute && row.url !== null && state !== "gone" && state !== "failed" &&
              row.status !== "dead" && row.status !== "crashed"
            const health = askHealth
              ? yield* Effect.option(client.health(row.url!, tokens.tokenFor(row.id)))
              : Option.none()
            return { row, hasCompute, state, askHealth, health }
          }), { concurrency: 32 })

        // 2. Record every health result in one statement (a restarting instance's silence is not a failure).
        yield* instances.recordHealthBatch(observed.flatMap((o) =>
          o.askHealth && (o.state === "running" || Option.isSome(o.health))
            ? [{ id: o.row.id, healthy: Option.isSome(o.health), inboxId: Option.getOrNull(o.health)?.inboxId ?? null }]
            : []
        ))

        // 3. Decide (pure) and apply; only instances that change cost a write.
        let transitions = 0
        let reaped = 0
        yield* Effect.forEach(observed, ({ row, hasCompute, state, health }) =>
          Effect.gen(function*() {
            const observation: Observation = {
              status: row.status,
              ageMs: now - row.created_at.getTime(),
              claimAgeMs: row.claimed_at ? now - row.claimed_at.getTime() : null,
              compute: states === null && hasCompute ? "running" : state,
              health: Option.isSome(health)
                ? { ready: health.value.ready, conversationId: health.value.conversationId }
                : null,
              healthFailures: row.health_failures,
              ownerAlive: row.owner !== null && aliveOwners.has(row.owner),
              hasCompute,
            }
            const decided = decide(observation, policy)
            if (decided._tag === "Keep") return
            // An abandoned claim goes back to idle if the instance confirms it was never given a conversation.
            const decision = decided._tag === "Event" && decided.event._tag === "ClaimAbandoned" && row.url !== null &&
                (yield* client.reset(row.url, tokens.tokenFor(row.id)).pipe(
                  Effect.map((r) => r.clean),
                  Effect.orElseSucceed(() => false),
                ))
              ? { _tag: "Event" as const, event: { _tag: "ProvisionFailed" as const, resetClean: true }, why: decided.why }
              : decided
            if (decision._tag === "Event") {
              const fields = decision.event._tag === "BecameReady"
                ? { inboxId: Option.getOrNull(health)?.inboxId ?? null, reason: null }
                : decision.event._tag === "JoinAccepted"
                ? { conversationId: Option.getOrNull(health)?.conversationId ?? null }
                : decision.event._tag === "ProvisionFailed"
                ? { reason: decision.why, owner: null, clearClaim: true }
                : { reason: decision.why, owner: null }
              const moved = yield* instances.applyEvent(row.id, row.status, decision.event, fields)
              if (Option.isSome(moved)) {
                transitions++
                yield* Effect.logInfo(`instance ${row.id}: ${row.status} → ${moved.value.status} (${decision.why})`)
                if (moved.value.status === "dead") {
                  yield* pool.destroy(row.id)
                  reaped++
                }
              }
            } else if (decision._tag === "Reap") {
              yield* pool.destroy(row.id)
              reaped++
            }
          }), { concurrency: 16, discard: true })

        // 4. Orphans: resource rows or compute that no instance row names (a crash mid-destroy or mid-warm-up).
        let orphans = 0
        for (const resource of yield* instances.orphanResources) {
          orphans++
          yield* pool.destroy(resource.instance_id)
        }
        // Compute no row names is an orphan, unless its row was inserted after the rows were read (a row is always
        // inserted before its compute is created): look those few up again before destroying.
        for (const listed of survey?.unknown ?? []) {
          if (Option.isSome(yield* instances.findById(listed.instanceId))) continue
          orphans++
          yield* compute.destroy(listed).pipe(
            Effect.catch(() => Effect.logWarning(`orphan ${listed.instanceId} not destroyed yet`)),
          )
        }
        const created = yield* pool.replenish()
        return { checked: rows.length, transitions, reaped, orphans, created: created.length }
      }).pipe(Effect.withSpan("Reconciler.tick"))

      return Reconciler.of({ tick })
    }),
  )

  /** Runs a tick at start and then every `POOL_RECONCILE_INTERVAL`; a failing tick is logged and the loop goes on. */
  static readonly loop = Layer.effectDiscard(
    Effect.gen(function*() {
      const reconciler = yield* Reconciler
      const config = yield* PoolConfig
      yield* reconciler.tick.pipe(
        Effect.catchCause((cause) => Effect.logError("reconcile tick failed", cause)),
        Effect.repeat(Schedule.spaced(config.reconcileInterval)),
        Effect.forkScoped,
      )
    }),
  )
}
