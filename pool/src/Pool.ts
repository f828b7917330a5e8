import { Context, Duration, Effect, Exit, Fiber, FiberSet, Layer, Option, Queue, Redacted, Schedule, Semaphore } from "effect"
import { SqlClient } from "effect/sql"
import { randomBytes } from "node:crypto"
import { type ProvisionRequest, SLOT_ID } from "../../contract/index.ts"
import { ComputeProvider } from "./compute/ComputeProvider.ts"
import { Claims } from "./db/Claims.ts"
import { type HostRow, Hosts, loadOf } from "./db/Hosts.ts"
import { type InstanceRow, Instances, type StatusCounts } from "./db/Instances.ts"
import {
  type ClaimRequest,
  type ClaimResult,
  type ClaimStep,
  CONVERSATION_ID,
  type ReconfigureRequest,
  validateClaim,
  validateReconfigure,
} from "./domain/Claim.ts"
import {
  type ClaimError,
  ConfigureFailed,
  Forbidden,
  HostNotFound,
  IdempotencyConflict,
  InstanceNotFound,
  InvalidRequest,
  NoIdleInstance,
  NotConfigurable,
  ProvisionFailed,
  ShuttingDown,
} from "./domain/errors.ts"
import { configurable, drainable, live } from "./domain/InstanceStatus.ts"
import {
  etaSeconds,
  newHostId,
  nextHostStatus,
  placeSlots,
  slotModelOf,
  slotToolsOf,
} from "./domain/placement.ts"
import { replenishCount } from "./domain/reconcile.ts"
import { HostClient } from "./HostClient.ts"
import { InstanceClient } from "./InstanceClient.ts"
import { InstanceTokens } from "./InstanceTokens.ts"
import { hostLifecycle } from "./hostLifecycle.ts"
import { PoolConfig } from "./PoolConfig.ts"
import { PoolProcess } from "./PoolProcess.ts"
import { ToolProviders } from "./resources/ToolProvider.ts"

/**
 * The pool: hosts holding warm agent slots, atomic claims, replenish, drain, kill. An instance is one slot on one
 * host. Every instance status change goes through `Instances.applyEvent` (the pure transition function); hosts,
 * slots and provider resources are created only after the rows that name them exist, and destroyed by `destroy` /
 * `retireHost`, which delete each row only once its thing is gone.
 *
 * About 740 lines, over the usual 400: warm-up, placement, claim, destroy and shutdown share one closure's state
 * (placement lock, replenish queue, claims in flight, background fibers), and their decisions are already pure and
 * tested apart (domain/placement.ts, reconcile.ts, InstanceStatus.ts, Claim.ts). A host's start and retirement,
 * which needs only the placement lock of that state, is in hostLifecycle.ts.
 */
export class Pool extends Context.Service<Pool, {
  claim(request: ClaimRequest, onStep?: (step: ClaimStep) => void): Effect.Effect<ClaimResult, ClaimError>
  /** Creates instances: `count` more, or (no count) up to the idle target; both capped by the total. */
  replenish(count?: number): Effect.Effect<ReadonlyArray<string>>
  drain(count: number): Effect.Effect<ReadonlyArray<string>>
  /** Drains one host: no new slots, its idle slots go now, claimed ones stay until removed; destroyed once empty. */
  drainHost(hostId: string): Effect.Effect<ReadonlyArray<string>, HostNotFound>
  /** Destroys the hosts with no slot left (the reconciler, after its replenish). */
  readonly retireEmptyHosts: Effect.Effect<number>
  kill(instanceId: string): Effect.Effect<void, InstanceNotFound>
  /** Renames and/or re-instructs a claimed agent: the instance takes the change first, then the row records it. */
  reconfigure(
    instanceId: string,
    change: ReconfigureRequest,
  ): Effect.Effect<InstanceRow, InvalidRequest | InstanceNotFound | NotConfigurable | ConfigureFailed>
  /** An instance asks to be destroyed (removed from its conversation), authenticated by its own token. */
  selfDestruct(instanceId: string, token: string): Effect.Effect<void, Forbidden>
  /** Whether this process is running the claim of this instance (or may be: one is between statement and answer). */
  runsClaim(instanceId: string): boolean
  /** Checks an instance's own token (constant time, against the stored hash); the instance row when it matches. */
  authenticateInstance(instanceId: string, token: string): Effect.Effect<InstanceRow, Forbidden>
  /** An instance reports that its pending join was accepted. */
  markJoined(instanceId: string, token: string, conversationId: string): Effect.Effect<void, Forbidden>
  /** Releases resources and the slot of an instance, then deletes its row (also for a row already gone). */
  destroy(instanceId: string, knownHostId?: string | null): Effect.Effect<void>
  readonly counts: Effect.Effect<StatusCounts>
  readonly list: Effect.Effect<ReadonlyArray<InstanceRow>>
  readonly hosts: Effect.Effect<ReadonlyArray<HostRow>>
  /** Stops taking claims and waits (bounded) for the ones in flight. */
  readonly shutdown: Effect.Effect<void>
}>()("pool/Pool") {
  static readonly layer = Layer.effect(
    Pool,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const instances = yield* Instances
      const claims = yield* Claims
      const compute = yield* ComputeProvider
      const tools = yield* ToolProviders
      const client = yield* InstanceClient
      const hostClient = yield* HostClient
      const hostsRepo = yield* Hosts
      const tokens = yield* InstanceTokens
      const config = yield* PoolConfig
      const processInfo = yield* PoolProcess
      const background = yield* FiberSet.make<unknown, unknown>()
      const claimsInFlight = yield* FiberSet.make<unknown, unknown>()
      const replenishLock = yield* Semaphore.make(1)
      const replenishWanted = yield* Queue.sliding<void>(1)
      let shuttingDown = false

      const tokenFor = (id: string) => tokens.tokenFor(id)
      const hostToken = (hostId: string) => tokens.hostTokenFor(hostId)
      const startTimeoutMs = Duration.toMillis(config.startTimeout)

      // ---------------------------------------------------------------- hosts

      const { startHost, awaitHost, retireHost, retireEmptyHosts } = hostLifecycle({
        compute,
        hostsRepo,
        hostClient,
        hostToken,
        config,
        withPlacementLock: (effect) => withPlacementLock(effect),
      })

      // ---------------------------------------------------------------- destroy

      /** Releases a slot's resources, removes the slot from its host, then deletes its row (each only once done). */
      const destroy = Effect.fn("Pool.destroy")(function*(instanceId: string, knownHostId?: string | null) {
        const row = yield* instances.findById(instanceId)
        for (const resource of yield* instances.resourcesOf(instanceId)) {
          const provider = tools.find((t) => t.tool === resource.tool)
          if (!provider) {
            yield* Effect.logWarning(`no provider configured for ${resource.tool}; resource of ${instanceId} kept`)
            continue
          }
          // A resource whose id was never recorded (crash mid-create) is looked up by the instance id it was named after.
          const release = Effect.gen(function*() {
            const resourceId = resource.resource_id !== null
              ? Option.some(resource.resource_id)
              : yield* provider.find(instanceId)
            if (Option.isSome(resourceId)) yield* provider.release(instanceId, resourceId.value)
          })
          const exit = yield* Effect.exit(release)
          if (Exit.isFailure(exit)) {
            yield* Effect.logWarning(`could not release ${resource.tool} of ${instanceId}; the reconciler retries`)
            return
          }
          yield* instances.deleteResource(instanceId, resource.tool)
        }
        // A drained slot's row is already gone: its caller says where it was.
        const hostId = Option.isSome(row) ? row.value.host_id : knownHostId ?? null
        const host = hostId === null ? Option.none<HostRow>() : yield* hostsRepo.findById(hostId)
        if (Option.isSome(host) && host.value.url !== null && host.value.status !== "retiring") {
          const removed = yield* Effect.exit(hostClient.deleteSlot(host.value.url, hostToken(host.value.id), instanceId))
          // A slot whose put was never confirmed (or whose row is gone already) is removed on a best-effort basis:
          // if it did land, the reconciler finds it on its host as an orphan.
          const confirmed = Option.isSome(row) && Object.keys(row.value.compute_ref).length > 0
          if (Exit.isFailure(removed) && confirmed) {
            yield* Effect.logWarning(`could not remove slot ${instanceId} from host ${host.value.id}; the reconciler retries`)
            return
          }
        }
        yield* instances.delete(instanceId)
        // The slot's place on its host is free: replenish hot-adds a fresh one if the pool wants it.
        yield* Queue.offer(replenishWanted, undefined)
      })

      // ---------------------------------------------------------------- warm-up

      /**
       * Provider resources, then the slot on its host (`PUT /host/slots/:id` with its token, its one model key and its
       * tool variables), then its readiness. Any failure before the slot is up rolls back what was created and leaves
       * no row behind; a slot that does not get ready in time is left to the reconciler (start timeout).
       */
      /** `awaited`: a claim already waits for this slot, so the host skips its warm-up turn (`SlotSpec.warmUp`). */
      const warm = Effect.fn("Pool.warm")(function*(id: string, hostId: string, awaited: boolean) {
        const started = Date.now()
        const resourceEnv: Record<string, string> = {}
        for (const tool of tools) {
          yield* instances.recordResourceIntent(id, tool.tool)
          const created = yield* tool.create(id)
          yield* instances.activateResource(id, tool.tool, created.resourceId, Object.keys(created.env), created.meta)
          for (const [key, value] of Object.entries(created.env)) resourceEnv[key] = Redacted.value(value)
        }
        const url = yield* awaitHost(hostId)
        yield* hostClient.putSlot(url, hostToken(hostId), id, {
          token: Redacted.value(tokenFor(id)),
          model: slotModelOf(resourceEnv, config.sharedModel, config.openRouterModel),
          tools: slotToolsOf(resourceEnv),
          ...(awaited ? { warmUp: false } : {}),
        })
        yield* instances.setCompute(id, { hostId }, url)
        return yield* awaitReady(id, hostId, url, started)
      }, (effect, id) =>
        effect.pipe(
          Effect.catchCause((cause) =>
            Effect.logWarning(`warm-up of ${id} failed; rolling back`, cause).pipe(
              Effect.andThen(destroy(id)),
              Effect.as(false),
            )
          ),
        ))

      /**
       * Polls the slot's host until the slot reports ready (one host health answer also keeps the host's status
       * current), so the slot joins the idle pool in well under a reconcile tick. True once idle.
       */
      const awaitReady = (id: string, hostId: string, url: string, started: number) =>
        Effect.gen(function*() {
          const deadline = started + startTimeoutMs
          while (Date.now() < deadline) {
            const health = yield* Effect.option(hostClient.health(url, hostToken(hostId)))
            const slot = Option.isSome(health) ? health.value.slots.find((s) => s.slotId === id) : undefined
            if (Option.isSome(health) && slot?.ready && health.value.gatewayReady) {
              const host = yield* hostsRepo.findById(hostId)
              if (Option.isSome(host) && host.value.status !== "ready") {
                yield* hostsRepo.setStatus(hostId, nextHostStatus(host.value.status, {
                  answered: true,
                  gatewayReady: true,
                }), { ok: true, version: health.value.version })
              }
              yield* instances.recordHealth(id, true, slot.inboxId)
              const moved = yield* instances.applyEvent(id, "starting", { _tag: "BecameReady" }, { inboxId: slot.inboxId })
              if (Option.isSome(moved)) yield* hostsRepo.recordSlotReady(hostId, Date.now() - started)
              return Option.isSome(moved)
            }
            const current = yield* instances.findById(id)
            if (Option.isNone(current) || current.value.status !== "starting") return false
            yield* Effect.sleep(Duration.millis(250))
          }
          return false
        })

      // ---------------------------------------------------------------- placement

      /** One placer at a time across all pool processes, so two cannot both fill the same room on a host. */
      const withPlacementLock = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
        replenishLock.withPermit(
          sql.withTransaction(Effect.andThen(sql`SELECT pg_advisory_xact_lock(4242002)`, effect)).pipe(Effect.orDie),
        )

      /** Inserts host rows and slot rows for `count` new slots (inside the placement lock). */
      const placeNew = (count: number, reservedBy: string | null) =>
        Effect.gen(function*() {
          if (count === 0) return { slots: [], newHostIds: [], hosts: [] }
          const hosts = yield* hostsRepo.list
          const { placements, newHosts } = placeSlots(hosts.map(loadOf), count, config.agentsPerHost)
          const newHostIds = Array.from({ length: newHosts }, () => newHostId())
          for (const hostId of newHostIds) {
            yield* hostsRepo.insert({
              id: hostId,
              computeKind: compute.kind,
              tokenHash: tokens.hash(Redacted.value(hostToken(hostId))),
              capacity: config.agentsPerHost,
              owner: processInfo.id,
            })
          }
          const urls = new Map(hosts.map((h) => [h.id, h.url]))
          const slots = placements.map((placement) => ({
            id: newInstanceId(),
            hostId: placement._tag === "Existing" ? placement.hostId : newHostIds[placement.index]!,
          }))
          for (const slot of slots) {
            yield* instances.insertStarting({
              id: slot.id,
              hostId: slot.hostId,
              url: urls.get(slot.hostId) ?? null,
              reservedBy,
              computeKind: compute.kind,
              tokenHash: tokens.hash(Redacted.value(tokenFor(slot.id))),
              owner: processInfo.id,
            })
          }
          return { slots, newHostIds, hosts }
        })

      /** Starts the new hosts and warms the new slots in the background. */
      const launch = (
        placed: { readonly slots: ReadonlyArray<{ id: string; hostId: string }>; readonly newHostIds: ReadonlyArray<string> },
        awaited: boolean,
      ) =>
        Effect.gen(function*() {
          for (const hostId of placed.newHostIds) yield* FiberSet.run(background, startHost(hostId))
          yield* FiberSet.run(
            background,
            Effect.forEach(placed.slots, (s) => warm(s.id, s.hostId, awaited), { concurrency: config.createConcurrency, discard: true }),
          )
        })

      const replenish = Effect.fn("Pool.replenish")(function*(count?: number) {
        if (shuttingDown) return []
        const placed = yield* withPlacementLock(Effect.gen(function*() {
          const settings = yield* settingsNow
          const counts = yield* instances.counts
          // Idle means can be handed out now: on a ready, non-draining host, and not kept for a waiting claim.
          const [available] = yield* sql<{ idle: number; starting: number }>`SELECT
              count(*) FILTER (WHERE i.status = 'idle' AND h.status = 'ready' AND NOT h.draining)::int AS idle,
              count(*) FILTER (WHERE i.status = 'starting')::int AS starting
            FROM instances i JOIN hosts h ON h.id = i.host_id WHERE i.reserved_by IS NULL`
          const n = replenishCount({
            targetIdle: settings.target_idle,
            maxTotal: settings.max_total,
            idle: available?.idle ?? 0,
            starting: available?.starting ?? 0,
            live: live.reduce((sum, s) => sum + counts[s], 0),
            requested: count,
          })
          return yield* placeNew(n, null)
        }))
        if (placed.slots.length > 0) {
          yield* Effect.logInfo(
            `warming ${placed.slots.length} slot(s)` +
              (placed.newHostIds.length > 0 ? ` on ${placed.newHostIds.length} new host(s)` : ""),
          )
        }
        yield* launch(placed, false)
        return placed.slots.map((s) => s.id)
      })

      /**
       * A slot for a claim that found none idle: one already warming, else a new one on a host with room (or a new
       * host), unless the pool is at its total. With the ETA the claim reports while it waits.
       */
      const reserveSlot = Effect.gen(function*() {
        const warming = yield* instances.reserveStarting(processInfo.id)
        // Reserved now, so it is this claim's: wait for it even if its warm-up has not placed it on a host yet.
        if (Option.isSome(warming)) {
          const host = warming.value.host_id === null ? Option.none<HostRow>() : yield* hostsRepo.findById(warming.value.host_id)
          const elapsed = Date.now() - warming.value.created_at.getTime()
          const eta = etaSeconds({
            slotReadyMs: Option.isSome(host) ? host.value.slot_ready_ms : null,
            hostStartMs: Option.isSome(host) ? host.value.start_ms : null,
            newHost: Option.isNone(host) || host.value.status === "starting",
          })
          return Option.some({ id: warming.value.id, etaSeconds: Math.max(1, eta - Math.floor(elapsed / 1000)) })
        }
        const placed = yield* withPlacementLock(Effect.gen(function*() {
          const settings = yield* settingsNow
          const counts = yield* instances.counts
          if (live.reduce((sum, s) => sum + counts[s], 0) >= settings.max_total) return undefined
          return yield* placeNew(1, processInfo.id)
        }))
        if (placed === undefined) return Option.none<{ id: string; etaSeconds: number }>()
        const slot = placed.slots[0]!
        const host = placed.hosts.find((h) => h.id === slot.hostId)
        // A new host's ETA borrows what the others measured for their start and warm-ups.
        const measured = (pick: (h: HostRow) => number | null) =>
          host !== undefined ? pick(host) : placed.hosts.map(pick).find((v) => v !== null) ?? null
        const etaSecondsNow = etaSeconds({
          slotReadyMs: measured((h) => h.slot_ready_ms),
          hostStartMs: measured((h) => h.start_ms),
          newHost: host === undefined || host.status === "starting",
        })
        yield* launch(placed, true)
        return Option.some({ id: slot.id, etaSeconds: etaSecondsNow })
      })

      /** Waits (bounded) for the reserved slot to be idle, then claims it; None if it never got ready. */
      const claimWhenReady = (id: string, request: ClaimRequest) =>
        Effect.gen(function*() {
          const deadline = Date.now() + startTimeoutMs
          while (Date.now() < deadline) {
            const claimed = yield* instances.claimReserved(id, request, processInfo.id)
            if (claimed !== "JoinUrlTaken" && Option.isSome(claimed)) return claimed
            if (claimed === "JoinUrlTaken") {
              // Another claim for the same invite won meanwhile: this slot goes back to the idle pool.
              yield* instances.unreserve(id, processInfo.id)
              return claimed
            }
            const row = yield* instances.findById(id)
            if (Option.isNone(row) || (row.value.status !== "starting" && row.value.status !== "idle")) break
            yield* Effect.sleep(Duration.millis(100))
          }
          yield* instances.unreserve(id, processInfo.id)
          return Option.none<InstanceRow>()
        })

      const settingsNow = sql<{ target_idle: number; max_total: number }>`
        SELECT target_idle, max_total FROM pool_settings WHERE id`.pipe(
        Effect.map((rows) => rows[0] ?? { target_idle: config.targetIdle, max_total: config.maxTotal }),
      )

      // ---------------------------------------------------------------- claim

      const resultOf = (row: InstanceRow): ClaimResult => ({
        instanceId: row.id,
        agentName: row.agent_name ?? "",
        inboxId: row.inbox_id ?? "",
        status: row.status === "pending_acceptance" ? "pending_acceptance" : "claimed",
        conversationId: row.conversation_id,
        inviteUrl: row.invite_url ?? row.join_url,
        // In the conversation already: joined by link, or added. A created conversation waits for people to join.
        joined: row.status === "claimed" && (row.join_url !== null || row.invite_url === null),
      })

      /**
       * Waits for another claim of the same instance (same joinUrl) to finish, then answers with its outcome. The wait
       * lasts as long as that claim's process lives (its claim ends within the provision timeout); if the process dies
       * first, this answers at once with a retryable error, and the reconciler frees the invite.
       */
      const outcomeOf = (id: string) =>
        Effect.gen(function*() {
          const first = yield* instances.findById(id)
          // Settled already: a finished claim has no owner, which must not read as "its process is gone".
          if (Option.isSome(first) && (first.value.status === "claimed" || first.value.status === "pending_acceptance")) {
            return resultOf(first.value)
          }
          const owner = Option.isSome(first) ? first.value.owner : null
          const settled = Effect.gen(function*() {
            while (true) {
              const row = yield* instances.findById(id)
              if (Option.isNone(row)) return Option.none<ClaimResult>()
              const status = row.value.status
              if (status === "claimed" || status === "pending_acceptance") return Option.some(resultOf(row.value))
              if (status !== "claiming") return Option.none<ClaimResult>()
              yield* Effect.sleep(Duration.millis(100))
            }
          })
          // No owner while not settled: the row leaves `claiming` without one, which `settled` sees.
          const ownerGone = owner === null ? Effect.never : Effect.gen(function*() {
            while (true) {
              yield* processInfo.awaitGone(owner)
              if (!(yield* processInfo.isAlive(owner))) return Option.none<ClaimResult>()
            }
          })
          const outcome = yield* Effect.raceFirst(settled, ownerGone)
          if (Option.isSome(outcome)) return outcome.value
          return yield* new ProvisionFailed({ error: "The agent could not join that conversation. Please try again." })
        })

      const provisionClaimed = (row: InstanceRow, request: ClaimRequest, step: (s: ClaimStep) => void) =>
        Effect.gen(function*() {
          const token = tokenFor(row.id)
          const started = Date.now()
          step({ step: "provision", status: "active", message: `Starting ${request.agentName}` })
          const reply = yield* client.provision(row.url ?? "", row.id, token, provisionRequestOf(request)).pipe(
            Effect.catchTag("InstanceCallError", (error) =>
              Effect.gen(function*() {
                step({ step: "provision", status: "fail", message: "The agent could not be started" })
                const clean = error.status === 409
                  ? false // it says it is already bound: never hand it out again
                  : yield* client.reset(row.url ?? "", row.id, token).pipe(
                    Effect.map((r) => r.clean),
                    Effect.orElseSucceed(() => false),
                  )
                yield* instances.applyEvent(row.id, "claiming", { _tag: "ProvisionFailed", resetClean: clean }, {
                  reason: `provision failed: ${error.message}`,
                  clearClaim: clean,
                  owner: null,
                  ...(row.owner === null ? {} : { ownedBy: row.owner }),
                })
                yield* Effect.logWarning(`provision of ${row.id} failed (${error.message}); ${clean ? "back to idle" : "crashed"}`)
                return yield* new ProvisionFailed({ error: "The agent could not be started. Please try again." })
              })),
          )
          step({ step: "provision", status: "ok", message: `${request.agentName} is ready` })
          yield* Effect.logInfo(`claimed ${row.id} (${request.mode}): ${reply.status} in ${Date.now() - started} ms`)
          const pending = reply.status === "pending_acceptance"
          const updated = yield* instances.applyEvent(row.id, "claiming", { _tag: "Provisioned", pendingAcceptance: pending }, {
            conversationId: reply.conversationId ?? row.conversation_id,
            inviteUrl: reply.inviteUrl,
            owner: null,
            ...(row.owner === null ? {} : { ownedBy: row.owner }),
          })
          if (Option.isNone(updated)) {
            return yield* new ProvisionFailed({ error: "The agent was stopped while starting. Please try again." })
          }
          step(pending
            ? { step: "convo", status: "pending", message: "Waiting for the conversation's creator to accept" }
            : { step: "convo", status: "ok", message: "In the conversation" })
          return resultOf(updated.value)
        })

      /**
       * A claim that ended without an answer from its instance (a dropped database session mid-claim, a defect) leaves
       * its row `claiming` under a live owner, which no reconcile recovers. Its own process releases it: reset, then
       * idle (clean) or crashed, retried briefly because the database that failed it is usually back in moments.
       */
      const releaseAbandoned = (row: InstanceRow) =>
        Effect.gen(function*() {
          const now = yield* instances.findById(row.id)
          if (Option.isNone(now) || now.value.status !== "claiming" || now.value.owner !== row.owner) return
          const clean = yield* client.reset(row.url ?? "", row.id, tokenFor(row.id)).pipe(
            Effect.map((r) => r.clean),
            Effect.orElseSucceed(() => false),
          )
          yield* instances.applyEvent(row.id, "claiming", { _tag: "ProvisionFailed", resetClean: clean }, {
            reason: "the claim ended without an answer",
            clearClaim: clean,
            owner: null,
            ...(row.owner === null ? {} : { ownedBy: row.owner }),
          })
        }).pipe(
          Effect.sandbox,
          Effect.retry({ schedule: Schedule.exponential(Duration.millis(100)), times: 6 }),
          Effect.catchCause((cause) => Effect.logWarning(`could not release abandoned claim of ${row.id}`, cause)),
        )

      /**
       * The claims this process is running, by instance id, and how many are between their claiming statement and
       * knowing its row: a row this process owns in `claiming` that is in neither was abandoned (say its statement
       * committed but its answer was lost with a dropped session), and this process's reconcile releases it.
       */
      const claimingHere = new Set<string>()
      let claimsStarting = 0
      const registered = <E, R>(
        claiming: Effect.Effect<Option.Option<InstanceRow> | "JoinUrlTaken", E, R>,
      ) =>
        Effect.acquireUseRelease(
          Effect.sync(() => claimsStarting++),
          () =>
            Effect.tap(claiming, (claimed) =>
              Effect.sync(() => {
                if (claimed !== "JoinUrlTaken" && Option.isSome(claimed)) claimingHere.add(claimed.value.id)
              })),
          () => Effect.sync(() => claimsStarting--),
        )

      const claimOnce = (request: ClaimRequest, step: (s: ClaimStep) => void) =>
        Effect.gen(function*() {
          if (request.joinUrl !== undefined) {
            const existing = yield* instances.findLiveByJoinUrl(request.joinUrl)
            if (Option.isSome(existing)) return yield* outcomeOf(existing.value.id)
          }
          step({ step: "claim", status: "active", message: "Finding an available agent" })
          let claimed = yield* registered(instances.claimIdle(request, processInfo.id))
          if (claimed !== "JoinUrlTaken" && Option.isNone(claimed)) {
            // No warm slot is free: make one ready for this claim if there is room, and say how long it takes.
            const reserved = yield* reserveSlot
            if (Option.isSome(reserved)) {
              step({
                step: "capacity",
                status: "waiting",
                message: `${request.agentName} is getting ready, about ${reserved.value.etaSeconds} s`,
                etaSeconds: reserved.value.etaSeconds,
              })
              claimed = yield* registered(claimWhenReady(reserved.value.id, request))
            }
          }
          if (claimed === "JoinUrlTaken") {
            const existing = yield* instances.findLiveByJoinUrl(request.joinUrl ?? "")
            if (Option.isSome(existing)) return yield* outcomeOf(existing.value.id)
            return yield* NoIdleInstance.standard()
          }
          if (Option.isNone(claimed)) {
            step({ step: "claim", status: "fail", message: "No agent available" })
            return yield* NoIdleInstance.standard()
          }
          step({ step: "claim", status: "ok", message: "Agent reserved" })
          return yield* provisionClaimed(claimed.value, request, step).pipe(
            Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : releaseAbandoned(claimed.value))),
            Effect.ensuring(Effect.sync(() => claimingHere.delete(claimed.value.id))),
          )
        }).pipe(
          // Whatever happened, top the pool up again in the background (bursts of claims coalesce into one run).
          Effect.ensuring(Queue.offer(replenishWanted, undefined)),
        )

      const claim = Effect.fn("Pool.claim")(function*(input: ClaimRequest, onStep?: (step: ClaimStep) => void) {
        if (shuttingDown) return yield* ShuttingDown.standard()
        // A claim is stamped with this process's id: it starts only while the process holds its liveness lock, so no
        // other process can take it for dead and recover it (the lock is back within moments of a dropped session).
        const live = yield* processInfo.live.pipe(Effect.timeoutOption(config.startTimeout))
        if (Option.isNone(live)) {
          return yield* new ShuttingDown({ error: "The pool lost its database connection. Try again in a moment." })
        }
        // Every path (HTTP, the manager's chat) gets the same rules before anything is touched.
        const checked = validateClaim(input, config.xmtpEnv)
        if (!checked.ok) return yield* new InvalidRequest({ error: checked.error })
        const request = checked.request
        const step = onStep ?? (() => {})
        // Claims run in their own fibers so shutdown can wait for them to finish instead of cutting them off; a client
        // that goes away does not stop a claim that may already have bound a conversation.
        const inFlight = <A, E>(effect: Effect.Effect<A, E>) =>
          FiberSet.run(claimsInFlight, effect).pipe(Effect.flatMap(Fiber.join))
        const key = request.idempotencyKey
        if (key === undefined) return yield* inFlight(claimOnce(request, step))
        // A key whose first claim failed, or whose process died, is free again (no instance was handed out): the
        // lookup is tried again. Each turn ends a claim for good, so a few turns only ever meet a burst of retries.
        for (let attempt = 0; attempt < 3; attempt++) {
          const started = yield* claims.begin(key, request)
          if (started._tag === "Mismatch") {
            return yield* new IdempotencyConflict({
              error: "This Idempotency-Key was already used with a different request",
            })
          }
          if (started._tag === "New") {
            return yield* inFlight(claimOnce(request, step).pipe(Effect.onExit((exit) => claims.complete(key, started.owner, exit))))
          }
          // Waiting runs in the caller's fiber: it ends when the client goes away, and shutdown does not wait for it.
          const outcome = yield* claims.awaitOutcome(key)
          if (Option.isSome(outcome)) return outcome.value
        }
        return yield* NoIdleInstance.standard()
      })

      // ---------------------------------------------------------------- operator actions

      /** Removes drainable slots (never one holding a conversation); the rows go first, so nobody can claim them. */
      const drainWhere = (count: number, hostId: string | null) =>
        Effect.gen(function*() {
          const taken = yield* sql<{ id: string; host_id: string | null }>`DELETE FROM instances WHERE id IN (
              SELECT id FROM instances WHERE ${sql.in("status", drainable)} AND reserved_by IS NULL
                AND (${hostId}::text IS NULL OR host_id = ${hostId})
              -- Dead first, then starting; newest hosts first, so the older, fuller hosts keep their slots.
              ORDER BY CASE status WHEN 'dead' THEN 0 WHEN 'starting' THEN 1 ELSE 2 END, host_id DESC, created_at DESC
              LIMIT ${count} FOR UPDATE SKIP LOCKED)
            RETURNING id, host_id`.pipe(Effect.orDie)
          // A crash here leaves resource rows and slots that the reconciler finds as orphans.
          yield* Effect.forEach(taken, (r) => destroy(r.id, r.host_id), { concurrency: 4, discard: true })
          return taken.map((r) => r.id)
        })

      const drain = Effect.fn("Pool.drain")(function*(count: number) {
        return yield* drainWhere(count, null)
      })

      /** A draining host gets no new slots; its idle slots go now, claimed ones when removed; then the host goes. */
      const drainHost = Effect.fn("Pool.drainHost")(function*(hostId: string) {
        const host = yield* hostsRepo.setDraining(hostId, true)
        if (Option.isNone(host)) return yield* HostNotFound.standard()
        const drained = yield* drainWhere(host.value.capacity, hostId)
        yield* retireHost(hostId)
        // Its idle slots are replaced on other hosts if the pool wants them.
        yield* Queue.offer(replenishWanted, undefined)
        return drained
      })

      /** An id that cannot be an instance's is no instance (and never reaches SQL: a NUL there is a server error). */
      const findInstance = (instanceId: string) =>
        SLOT_ID.test(instanceId) ? instances.findById(instanceId) : Effect.succeed(Option.none<InstanceRow>())

      const kill = Effect.fn("Pool.kill")(function*(instanceId: string) {
        const row = yield* findInstance(instanceId)
        if (Option.isNone(row)) return yield* InstanceNotFound.standard()
        yield* destroy(instanceId)
      })

      const reconfigure = Effect.fn("Pool.reconfigure")(function*(instanceId: string, input: ReconfigureRequest) {
        // Checked before the instance hears of it, so the instance and its row never disagree.
        const checked = validateReconfigure(input)
        if (!checked.ok) return yield* new InvalidRequest({ error: checked.error })
        const change = checked.request
        const found = yield* findInstance(instanceId)
        if (Option.isNone(found)) return yield* InstanceNotFound.standard()
        const row = found.value
        if (!configurable.includes(row.status)) {
          return yield* new NotConfigurable({
            error: row.status === "claiming"
              ? "The agent is still starting. Try again in a moment."
              : "Only an agent that has been claimed can be renamed or re-instructed.",
          })
        }
        yield* client.configure(row.url ?? "", instanceId, tokenFor(instanceId), change).pipe(
          Effect.catchTag("InstanceCallError", (error) =>
            Effect.gen(function*() {
              yield* Effect.logWarning(`configure of ${instanceId} failed: ${error.message}`)
              return yield* new ConfigureFailed({ error: "The agent could not take the change. Please try again." })
            })),
        )
        const updated = yield* instances.setPersona(instanceId, change)
        if (Option.isSome(updated)) return updated.value
        // Destroyed or dead while the change was on its way: report the row as it is now.
        const now = yield* instances.findById(instanceId)
        if (Option.isNone(now)) return yield* InstanceNotFound.standard()
        return now.value
      })

      const authenticate = (instanceId: string, token: string) =>
        Effect.gen(function*() {
          const row = yield* findInstance(instanceId)
          if (Option.isNone(row) || !tokens.verify(token, row.value.token_hash)) return yield* Forbidden.standard()
          return row.value
        })

      const selfDestruct = Effect.fn("Pool.selfDestruct")(function*(instanceId: string, token: string) {
        yield* authenticate(instanceId, token)
        yield* Effect.logInfo(`instance ${instanceId} asked to be destroyed`)
        yield* FiberSet.run(background, destroy(instanceId))
      })

      const markJoined = Effect.fn("Pool.markJoined")(function*(instanceId: string, token: string, conversationId: string) {
        const row = yield* authenticate(instanceId, token)
        if (!CONVERSATION_ID.test(conversationId)) return yield* Forbidden.standard()
        if (row.status === "pending_acceptance") {
          yield* instances.applyEvent(instanceId, "pending_acceptance", { _tag: "JoinAccepted" }, { conversationId })
        }
      })

      const shutdown = Effect.gen(function*() {
        shuttingDown = true
        yield* FiberSet.awaitEmpty(claimsInFlight).pipe(Effect.timeoutOption(config.shutdownGrace))
      })

      // Settings live in the database so every pool process shares them; the environment sets them at start.
      yield* sql`INSERT INTO pool_settings (id, target_idle, max_total) VALUES (true, ${config.targetIdle}, ${config.maxTotal})
        ON CONFLICT (id) DO UPDATE SET target_idle = EXCLUDED.target_idle, max_total = EXCLUDED.max_total, updated_at = now()`
        .pipe(Effect.orDie)
      yield* Effect.addFinalizer(() => shutdown)
      yield* Queue.take(replenishWanted).pipe(
        Effect.andThen(replenish()),
        Effect.catchCause((cause) => Effect.logError("replenish failed", cause)),
        Effect.forever,
        Effect.forkScoped,
      )

      return Pool.of({
        claim,
        replenish,
        drain,
        drainHost,
        retireEmptyHosts,
        kill,
        reconfigure,
        selfDestruct,
        authenticateInstance: authenticate,
        runsClaim: (instanceId) => claimsStarting > 0 || claimingHere.has(instanceId),
        markJoined,
        destroy,
        counts: instances.counts,
        list: instances.list(),
        hosts: hostsRepo.list,
        shutdown,
      })
    }),
  )
}

/** The slot's provision, as the contract words it (one shape per mode). */
const provisionRequestOf = (r: ClaimRequest): ProvisionRequest => {
  const persona = {
    agentName: r.agentName,
    instructions: r.instructions,
    ...(r.managerInboxId === undefined ? {} : { managerInboxId: r.managerInboxId }),
    ...(r.skills === undefined ? {} : { skills: r.skills }),
  }
  switch (r.mode) {
    case "create":
      return { mode: "create", ...persona }
    case "join":
      return { mode: "join", joinUrl: r.joinUrl ?? "", ...persona }
    case "add":
      return { mode: "add", conversationId: r.conversationId ?? "", addedBy: r.addedBy ?? "", ...persona }
  }
}

const newInstanceId = () => randomBytes(9).toString("base64url").replace(/[-_]/g, "x").slice(0, 12).toLowerCase()
