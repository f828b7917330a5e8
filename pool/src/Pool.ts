import { Context, Duration, Effect, Exit, Fiber, FiberSet, Layer, Option, Queue, Redacted, Semaphore } from "effect"
import { SqlClient } from "effect/sql"
import { randomBytes } from "node:crypto"
import { ComputeProvider } from "./compute/ComputeProvider.ts"
import { Claims } from "./db/Claims.ts"
import { type InstanceRow, Instances, type StatusCounts } from "./db/Instances.ts"
import type { ClaimRequest, ClaimResult, ClaimStep, ReconfigureRequest } from "./domain/Claim.ts"
import {
  type ClaimError,
  ConfigureFailed,
  Forbidden,
  IdempotencyConflict,
  InstanceNotFound,
  NoIdleInstance,
  NotConfigurable,
  ProvisionFailed,
  ShuttingDown,
} from "./domain/errors.ts"
import { configurable, drainable, live } from "./domain/InstanceStatus.ts"
import { replenishCount } from "./domain/reconcile.ts"
import { InstanceClient } from "./InstanceClient.ts"
import { InstanceTokens } from "./InstanceTokens.ts"
import { PoolConfig } from "./PoolConfig.ts"
import { PoolProcess } from "./PoolProcess.ts"
import { ToolProviders } from "./resources/ToolProvider.ts"

/**
 * The pool: warm instances, atomic claims, replenish, drain, kill. Every status change goes through
 * `Instances.applyEvent` (the pure transition function); compute and provider resources are created only after the
 * rows that name them exist, and destroyed by `destroy`, which deletes each row only once its thing is gone.
 */
export class Pool extends Context.Service<Pool, {
  claim(request: ClaimRequest, onStep?: (step: ClaimStep) => void): Effect.Effect<ClaimResult, ClaimError>
  /** Creates instances: `count` more, or (no count) up to the idle target; both capped by the total. */
  replenish(count?: number): Effect.Effect<ReadonlyArray<string>>
  drain(count: number): Effect.Effect<ReadonlyArray<string>>
  kill(instanceId: string): Effect.Effect<void, InstanceNotFound>
  /** Renames and/or re-instructs a claimed agent: the instance takes the change first, then the row records it. */
  reconfigure(
    instanceId: string,
    change: ReconfigureRequest,
  ): Effect.Effect<InstanceRow, InstanceNotFound | NotConfigurable | ConfigureFailed>
  /** An instance asks to be destroyed (removed from its conversation), authenticated by its own token. */
  selfDestruct(instanceId: string, token: string): Effect.Effect<void, Forbidden>
  /** Checks an instance's own token (constant time, against the stored hash); the instance row when it matches. */
  authenticateInstance(instanceId: string, token: string): Effect.Effect<InstanceRow, Forbidden>
  /** An instance reports that its pending join was accepted. */
  markJoined(instanceId: string, token: string, conversationId: string): Effect.Effect<void, Forbidden>
  /** Releases resources and compute of an instance whose row is already gone or dead (used by the reconciler). */
  destroy(instanceId: string): Effect.Effect<void>
  readonly counts: Effect.Effect<StatusCounts>
  readonly list: Effect.Effect<ReadonlyArray<InstanceRow>>
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
      const tokens = yield* InstanceTokens
      const config = yield* PoolConfig
      const processInfo = yield* PoolProcess
      const background = yield* FiberSet.make<unknown, unknown>()
      const claimsInFlight = yield* FiberSet.make<unknown, unknown>()
      const replenishLock = yield* Semaphore.make(1)
      const replenishWanted = yield* Queue.sliding<void>(1)
      let shuttingDown = false

      const tokenFor = (id: string) => tokens.tokenFor(id)

      // ---------------------------------------------------------------- destroy

      const destroy = Effect.fn("Pool.destroy")(function*(instanceId: string) {
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
        const ref = Option.isSome(row) ? row.value.compute_ref : undefined
        const destroyed = yield* Effect.exit(
          compute.destroy({ instanceId, ref: ref ?? {} }),
        )
        if (Exit.isFailure(destroyed)) {
          yield* Effect.logWarning(`could not destroy compute of ${instanceId}; the reconciler retries`)
          return
        }
        yield* instances.delete(instanceId)
      })

      // ---------------------------------------------------------------- warm-up

      /** Provider resources, then compute. Any failure rolls back what was created and leaves no row behind. */
      const warm = Effect.fn("Pool.warm")(function*(id: string) {
        const token = tokenFor(id)
        const env: Record<string, string> = {
          ...config.instanceEnv,
          INSTANCE_ID: id,
          INSTANCE_TOKEN: Redacted.value(token),
          POOL_URL: config.publicUrl,
          XMTP_ENV: config.xmtpEnv,
        }
        for (const tool of tools) {
          yield* instances.recordResourceIntent(id, tool.tool)
          const created = yield* tool.create(id)
          yield* instances.activateResource(id, tool.tool, created.resourceId, Object.keys(created.env), created.meta)
          for (const [key, value] of Object.entries(created.env)) env[key] = Redacted.value(value)
        }
        const handle = yield* compute.create({ instanceId: id, env })
        yield* instances.setCompute(id, handle.ref, handle.url)
        yield* FiberSet.run(background, awaitReady(id, handle.url))
      }, (effect, id) =>
        effect.pipe(
          Effect.catchCause((cause) =>
            Effect.logWarning(`warm-up of ${id} failed; rolling back`, cause).pipe(
              Effect.andThen(destroy(id)),
            )
          ),
        ))

      /** Polls a new instance until it reports ready, so it joins the idle pool in well under a reconcile tick. */
      const awaitReady = (id: string, url: string) =>
        Effect.gen(function*() {
          const deadline = Date.now() + Duration.toMillis(config.startTimeout)
          while (Date.now() < deadline) {
            const health = yield* Effect.option(client.health(url, tokenFor(id)))
            if (Option.isSome(health) && health.value.ready) {
              yield* instances.recordHealth(id, true, health.value.inboxId)
              yield* instances.applyEvent(id, "starting", { _tag: "BecameReady" }, { inboxId: health.value.inboxId })
              return
            }
            const current = yield* instances.findById(id)
            if (Option.isNone(current) || current.value.status !== "starting") return
            yield* Effect.sleep(Duration.millis(200))
          }
        })

      const replenish = Effect.fn("Pool.replenish")(function*(count?: number) {
        if (shuttingDown) return []
        const ids = yield* replenishLock.withPermit(
          sql.withTransaction(Effect.gen(function*() {
            // One replenisher at a time across all pool processes, so two cannot both fill the same gap.
            yield* sql`SELECT pg_advisory_xact_lock(4242002)`
            const settings = yield* settingsNow
            const counts = yield* instances.counts
            const n = replenishCount({
              targetIdle: settings.target_idle,
              maxTotal: settings.max_total,
              idle: counts.idle,
              starting: counts.starting,
              live: live.reduce((sum, s) => sum + counts[s], 0),
              requested: count,
            })
            const ids = Array.from({ length: n }, newInstanceId)
            for (const id of ids) {
              yield* instances.insertStarting({
                id,
                computeKind: compute.kind,
                tokenHash: tokens.hash(Redacted.value(tokenFor(id))),
                owner: processInfo.id,
              })
            }
            return ids
          })).pipe(Effect.orDie),
        )
        if (ids.length > 0) yield* Effect.logInfo(`warming ${ids.length} instance(s)`)
        yield* FiberSet.run(background, Effect.forEach(ids, warm, { concurrency: config.createConcurrency, discard: true }))
        return ids
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

      /** Waits for another claim of the same instance (same joinUrl) to finish, then answers with its outcome. */
      const outcomeOf = (id: string) =>
        Effect.gen(function*() {
          const deadline = Date.now() + 120_000
          while (Date.now() < deadline) {
            const row = yield* instances.findById(id)
            if (Option.isNone(row)) break
            const status = row.value.status
            if (status === "claimed" || status === "pending_acceptance") return resultOf(row.value)
            if (status !== "claiming") break
            yield* Effect.sleep(Duration.millis(100))
          }
          return yield* new ProvisionFailed({ error: "The agent could not join that conversation. Please try again." })
        })

      const provisionClaimed = (row: InstanceRow, request: ClaimRequest, step: (s: ClaimStep) => void) =>
        Effect.gen(function*() {
          const token = tokenFor(row.id)
          const started = Date.now()
          step({ step: "provision", status: "active", message: `Starting ${request.agentName}` })
          const reply = yield* client.provision(row.url ?? "", token, {
            agentName: request.agentName,
            instructions: request.instructions,
            mode: request.mode,
            joinUrl: request.joinUrl,
            conversationId: request.conversationId,
            addedBy: request.addedBy,
            managerInboxId: request.managerInboxId,
          }).pipe(
            Effect.catchTag("InstanceCallError", (error) =>
              Effect.gen(function*() {
                step({ step: "provision", status: "fail", message: "The agent could not be started" })
                const clean = error.status === 409
                  ? false // it says it is already bound: never hand it out again
                  : yield* client.reset(row.url ?? "", token).pipe(
                    Effect.map((r) => r.clean),
                    Effect.orElseSucceed(() => false),
                  )
                yield* instances.applyEvent(row.id, "claiming", { _tag: "ProvisionFailed", resetClean: clean }, {
                  reason: `provision failed: ${error.message}`,
                  clearClaim: clean,
                  owner: null,
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
          })
          if (Option.isNone(updated)) {
            return yield* new ProvisionFailed({ error: "The agent was stopped while starting. Please try again." })
          }
          step(pending
            ? { step: "convo", status: "pending", message: "Waiting for the conversation's creator to accept" }
            : { step: "convo", status: "ok", message: "In the conversation" })
          return resultOf(updated.value)
        })

      const claimOnce = (request: ClaimRequest, step: (s: ClaimStep) => void) =>
        Effect.gen(function*() {
          if (request.joinUrl !== undefined) {
            const existing = yield* instances.findLiveByJoinUrl(request.joinUrl)
            if (Option.isSome(existing)) return yield* outcomeOf(existing.value.id)
          }
          step({ step: "claim", status: "active", message: "Finding an available agent" })
          const claimed = yield* instances.claimIdle(request, processInfo.id)
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
          return yield* provisionClaimed(claimed.value, request, step)
        }).pipe(
          // Whatever happened, top the pool up again in the background (bursts of claims coalesce into one run).
          Effect.ensuring(Queue.offer(replenishWanted, undefined)),
        )

      const claim = Effect.fn("Pool.claim")(function*(request: ClaimRequest, onStep?: (step: ClaimStep) => void) {
        if (shuttingDown) return yield* ShuttingDown.standard()
        const step = onStep ?? (() => {})
        const key = request.idempotencyKey
        const run = key === undefined
          ? claimOnce(request, step)
          : Effect.gen(function*() {
            // A key whose first claim failed is free again (no instance was handed out), so retry the lookup.
            for (let attempt = 0; attempt < 3; attempt++) {
              const started = yield* claims.begin(key, request)
              if (started._tag === "Mismatch") {
                return yield* new IdempotencyConflict({
                  error: "This Idempotency-Key was already used with a different request",
                })
              }
              if (started._tag === "New") {
                return yield* claimOnce(request, step).pipe(
                  Effect.onExit((exit) => claims.complete(key, exit)),
                )
              }
              const outcome = yield* claims.awaitOutcome(key)
              if (Option.isSome(outcome)) return outcome.value
            }
            return yield* NoIdleInstance.standard()
          })
        // Claims run in their own fibers so shutdown can wait for them to finish instead of cutting them off.
        const fiber = yield* FiberSet.run(claimsInFlight, run)
        return yield* Fiber.join(fiber)
      })

      // ---------------------------------------------------------------- operator actions

      const drain = Effect.fn("Pool.drain")(function*(count: number) {
        const taken = yield* sql<{ id: string }>`DELETE FROM instances WHERE id IN (
            SELECT id FROM instances WHERE ${sql.in("status", drainable)}
            ORDER BY CASE status WHEN 'dead' THEN 0 WHEN 'starting' THEN 1 ELSE 2 END, created_at DESC
            LIMIT ${count} FOR UPDATE SKIP LOCKED)
          RETURNING id`.pipe(Effect.orDie)
        // The rows are gone first, so nobody can claim a draining instance; destroy then releases what they named
        // (a crash here leaves resource rows and compute that the reconciler finds as orphans).
        yield* Effect.forEach(taken, (r) => destroy(r.id), { concurrency: 4, discard: true })
        return taken.map((r) => r.id)
      })

      const kill = Effect.fn("Pool.kill")(function*(instanceId: string) {
        const row = yield* instances.findById(instanceId)
        if (Option.isNone(row)) return yield* InstanceNotFound.standard()
        yield* destroy(instanceId)
      })

      const reconfigure = Effect.fn("Pool.reconfigure")(function*(instanceId: string, change: ReconfigureRequest) {
        const found = yield* instances.findById(instanceId)
        if (Option.isNone(found)) return yield* InstanceNotFound.standard()
        const row = found.value
        if (!configurable.includes(row.status)) {
          return yield* new NotConfigurable({
            error: row.status === "claiming"
              ? "The agent is still starting. Try again in a moment."
              : "Only an agent that has been claimed can be renamed or re-instructed.",
          })
        }
        yield* client.configure(row.url ?? "", tokenFor(instanceId), change).pipe(
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
          const row = yield* instances.findById(instanceId)
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
        kill,
        reconfigure,
        selfDestruct,
        authenticateInstance: authenticate,
        markJoined,
        destroy,
        counts: instances.counts,
        list: instances.list(),
        shutdown,
      })
    }),
  )
}

const newInstanceId = () => randomBytes(9).toString("base64url").replace(/[-_]/g, "x").slice(0, 12).toLowerCase()
