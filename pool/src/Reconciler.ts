import { Context, Duration, Effect, Layer, Option, Schedule } from "effect"
import { ComputeProvider, type ComputeState } from "./compute/ComputeProvider.ts"
import { Hosts } from "./db/Hosts.ts"
import { type InstanceRow, Instances } from "./db/Instances.ts"
import { nextHostStatus } from "./domain/placement.ts"
import { decide, type Observation, slotCompute } from "./domain/reconcile.ts"
import { HostClient } from "./HostClient.ts"
import { InstanceClient } from "./InstanceClient.ts"
import { InstanceTokens } from "./InstanceTokens.ts"
import { Pool } from "./Pool.ts"
import { PoolConfig } from "./PoolConfig.ts"
import { PoolProcess } from "./PoolProcess.ts"

export interface TickReport {
  readonly hosts: number
  readonly checked: number
  readonly transitions: number
  readonly reaped: number
  readonly orphans: number
  readonly created: number
  readonly retired: number
}

/**
 * One reconcile tick: one compute survey and one `GET /host/health` per host → host statuses; every slot observed
 * through its host → decisions from the pure `decide` → transitions, reaping of dead never-claimed slots, orphan
 * clean-up (resources, slots, hosts), then replenish, then retiring hosts left empty.
 */
export class Reconciler extends Context.Service<Reconciler, {
  readonly tick: Effect.Effect<TickReport>
}>()("pool/Reconciler") {
  static readonly layer = Layer.effect(
    Reconciler,
    Effect.gen(function*() {
      const instances = yield* Instances
      const hosts = yield* Hosts
      const compute = yield* ComputeProvider
      const client = yield* InstanceClient
      const hostClient = yield* HostClient
      const tokens = yield* InstanceTokens
      const pool = yield* Pool
      const config = yield* PoolConfig
      const processInfo = yield* PoolProcess

      const policy = {
        startTimeoutMs: Duration.toMillis(config.startTimeout),
        unhealthyAfter: config.unhealthyAfter,
        pendingAcceptanceTimeoutMs: Duration.toMillis(config.pendingAcceptanceTimeout),
      }

      const stillAbandoned = (row: InstanceRow) =>
        Effect.gen(function*() {
          if (row.owner === processInfo.id && pool.runsClaim(row.id)) return false
          const now = yield* instances.findById(row.id)
          return Option.isSome(now) && now.value.status === "claiming" && now.value.owner === row.owner &&
            now.value.claimed_at?.getTime() === row.claimed_at?.getTime()
        })

      const tick = Effect.gen(function*() {
        const hostRows = yield* hosts.list
        const rows = yield* instances.list()
        const withCompute = hostRows.filter((h) => Object.keys(h.compute_ref).length > 0)
        const survey = yield* compute.survey(withCompute.map((h) => ({ hostId: h.id, ref: h.compute_ref }))).pipe(
          Effect.orElseSucceed(() => null),
        )
        const states = survey?.states ?? null
        if (survey === null) yield* Effect.logWarning("compute status unavailable; skipping compute-based decisions")
        const aliveOwners = yield* processInfo.aliveAmong(
          rows.flatMap((r) => [r.owner, r.reserved_by].filter((o): o is string => o !== null)),
        )
        // A claim that was waiting for its slot in a pool process that died: the slot joins the idle pool.
        yield* instances.releaseReservations(aliveOwners)
        const now = Date.now()

        // 1. Hosts: compute state and one health call each; their statuses follow (pure `nextHostStatus`).
        const observedHosts = yield* Effect.forEach(hostRows, (host) =>
          Effect.gen(function*() {
            const hasCompute = Object.keys(host.compute_ref).length > 0
            const state: ComputeState = !hasCompute ? "gone" : states?.get(host.id) ?? "running"
            const ask = host.url !== null && state !== "gone" && state !== "failed" && host.status !== "retiring"
            const health = ask ? yield* Effect.option(hostClient.health(host.url!, tokens.hostTokenFor(host.id))) : Option.none()
            // The provider lost the host: nothing is left to call; its slots are gone with it.
            if (host.status !== "retiring" && hasCompute && state === "gone") yield* hosts.forget(host.id)
            return [host.id, { host, state, health }] as const
          }), { concurrency: 16 })
        const hostById = new Map(observedHosts)
        const hostResults = observedHosts.flatMap(([id, { host, state, health }]) => {
          if (host.status === "retiring" || Object.keys(host.compute_ref).length === 0 || state === "gone") return []
          const next = nextHostStatus(host.status, {
            answered: Option.isSome(health),
            gatewayReady: Option.isSome(health) && health.value.gatewayReady,
          })
          return [{ id, status: next, ok: Option.isSome(health), version: Option.getOrNull(health)?.version ?? null, was: host.status }]
        })
        for (const r of hostResults) if (r.status !== r.was) yield* Effect.logInfo(`host ${r.id}: ${r.was} → ${r.status}`)
        yield* hosts.recordHealthBatch(hostResults)

        // 2. Slots, seen through their host's one health answer.
        const observed = rows.map((row) => {
          const host = row.host_id === null ? undefined : hostById.get(row.host_id)
          const hostHealth = host === undefined ? undefined : Option.getOrUndefined(host.health)
          const slot = hostHealth?.slots.find((s) => s.slotId === row.id)
          const hasCompute = Object.keys(row.compute_ref).length > 0
          const state = slotCompute({
            putOnHost: hasCompute,
            host: host === undefined
              ? undefined
              : { compute: host.state, answered: hostHealth !== undefined, gatewayReady: hostHealth?.gatewayReady ?? false },
            listed: slot !== undefined,
          })
          return { row, hasCompute, state, slot, counted: state === "running" }
        })

        // Record every health result in one statement (a restarting host's silence is not a failure).
        yield* instances.recordHealthBatch(observed.flatMap((o) =>
          o.counted && o.row.status !== "dead" && o.row.status !== "crashed"
            // An idle slot must be ready to count as healthy; a handed-out one is bound, so "ready" (for a
            // provision) says nothing about it.
            ? [{
              id: o.row.id,
              healthy: o.slot !== undefined && (o.slot.ready || o.row.status !== "idle"),
              inboxId: o.slot?.inboxId ?? null,
            }]
            : []
        ))

        // 3. Decide (pure) and apply; only slots that change cost a write.
        let transitions = 0
        let reaped = 0
        yield* Effect.forEach(observed, ({ row, hasCompute, state, slot }) =>
          Effect.gen(function*() {
            const observation: Observation = {
              status: row.status,
              ageMs: now - row.created_at.getTime(),
              claimAgeMs: row.claimed_at ? now - row.claimed_at.getTime() : null,
              compute: states === null && hasCompute ? "running" : state,
              health: slot !== undefined ? { ready: slot.ready, conversationId: slot.conversationId } : null,
              healthFailures: row.health_failures,
              // A claim of this process is alive only while it runs here: one left `claiming` by a lost answer is not.
              ownerAlive: row.status === "claiming" && row.owner === processInfo.id
                ? pool.runsClaim(row.id)
                : row.owner !== null && aliveOwners.has(row.owner),
              hasCompute,
            }
            const decided = decide(observation, policy)
            if (decided._tag === "Keep") return
            // The row was read at the start of the tick: a claim of this process may have ended since (its row then
            // says so). Resetting its slot now would wipe the agent a person was just given. Checked in this order:
            // once no claim runs here, a row still `claiming` under this tick's owner and claim time was abandoned.
            if (decided._tag === "Event" && decided.event._tag === "ClaimAbandoned" && !(yield* stillAbandoned(row))) return
            // An abandoned claim goes back to idle if the slot confirms it was never given a conversation.
            const decision = decided._tag === "Event" && decided.event._tag === "ClaimAbandoned" && row.url !== null &&
                (yield* client.reset(row.url, row.id, tokens.tokenFor(row.id)).pipe(
                  Effect.map((r) => r.clean),
                  Effect.orElseSucceed(() => false),
                ))
              ? { _tag: "Event" as const, event: { _tag: "ProvisionFailed" as const, resetClean: true }, why: decided.why }
              : decided
            if (decision._tag === "Event") {
              const fields = decision.event._tag === "BecameReady"
                ? { inboxId: slot?.inboxId ?? null, reason: null }
                : decision.event._tag === "JoinAccepted"
                ? { conversationId: slot?.conversationId ?? null }
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

        // 4. Orphans: resource rows, slots or hosts that no row names (a crash mid-destroy or mid-warm-up).
        let orphans = 0
        for (const resource of yield* instances.orphanResources) {
          orphans++
          yield* pool.destroy(resource.instance_id)
        }
        const known = new Set(rows.map((r) => r.id))
        for (const [hostId, { host, health }] of hostById) {
          if (Option.isNone(health) || host.url === null) continue
          for (const listed of health.value.slots) {
            // A row is always inserted before its slot is put: look up the few unknown ones again before removing.
            if (known.has(listed.slotId) || Option.isSome(yield* instances.findById(listed.slotId))) continue
            orphans++
            yield* hostClient.deleteSlot(host.url, tokens.hostTokenFor(hostId), listed.slotId).pipe(
              Effect.catch(() => Effect.logWarning(`orphan slot ${listed.slotId} not removed yet`)),
            )
          }
        }
        // Compute no host row names is an orphan, unless its row was inserted after the rows were read.
        for (const listed of survey?.unknown ?? []) {
          if (Option.isSome(yield* hosts.findById(listed.hostId))) continue
          orphans++
          yield* compute.destroy(listed).pipe(
            Effect.catch(() => Effect.logWarning(`orphan host ${listed.hostId} not destroyed yet`)),
          )
        }
        const created = yield* pool.replenish()
        const retired = yield* pool.retireEmptyHosts
        return { hosts: hostRows.length, checked: rows.length, transitions, reaped, orphans, created: created.length, retired }
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
