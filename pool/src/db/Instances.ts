import { Context, Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import type { ComputeRef } from "../compute/ComputeProvider.ts"
import type { ClaimRequest } from "../domain/Claim.ts"
import { configurable, type InstanceEvent, type InstanceStatus, InstanceStatuses, transition } from "../domain/InstanceStatus.ts"

/** One row of `instances`, as the pool uses it internally (the API exposes a filtered view: see http/). */
export interface InstanceRow {
  readonly id: string
  readonly status: InstanceStatus
  /** The host holding this slot (the instance id is the slot id). */
  readonly host_id: string | null
  /** The pool process whose waiting claim this slot is warmed for: only that claim takes it. */
  readonly reserved_by: string | null
  readonly compute_kind: string
  readonly compute_ref: ComputeRef
  readonly url: string | null
  readonly token_hash: string
  readonly inbox_id: string | null
  readonly agent_name: string | null
  readonly instructions: string | null
  readonly conversation_id: string | null
  readonly invite_url: string | null
  readonly join_url: string | null
  readonly claimed_by: string | null
  readonly claimed_at: Date | null
  readonly status_reason: string | null
  readonly owner: string | null
  readonly health_failures: number
  readonly last_health_at: Date | null
  readonly created_at: Date
  readonly updated_at: Date
}

export type StatusCounts = Record<InstanceStatus, number>

export interface NewSlot {
  readonly id: string
  readonly hostId: string
  /** The host's URL when it has one already (a new host gets it once its compute exists). */
  readonly url: string | null
  readonly reservedBy: string | null
  readonly computeKind: string
  readonly tokenHash: string
  readonly owner: string
}

export interface ResourceRow {
  readonly instance_id: string
  readonly tool: string
  readonly resource_id: string | null
  readonly env_keys: ReadonlyArray<string>
  readonly meta: Readonly<Record<string, unknown>>
  readonly status: "creating" | "active" | "releasing"
  readonly created_at: Date
}

/** What a transition may also write alongside the status. */
export interface TransitionFields {
  readonly conversationId?: string | null
  readonly inviteUrl?: string | null
  readonly inboxId?: string | null
  readonly reason?: string | null
  readonly owner?: string | null
  /** A claim that failed and went back to idle forgets what it was asked. */
  readonly clearClaim?: boolean
  /**
   * Applies only while this process still owns the row: a process declared dead (its session dropped for longer than
   * the re-take grace) finds its claim recovered, perhaps claimed again by someone else, and must not overwrite it.
   */
  readonly ownedBy?: string
}

const columns = `id, status, host_id, reserved_by, compute_kind, compute_ref, url, token_hash, inbox_id, agent_name, instructions,
  conversation_id, invite_url, join_url, claimed_by, claimed_at, status_reason, owner, health_failures, last_health_at,
  created_at, updated_at`

/**
 * Repository over `instances` and `instance_resources`. The only writer of `instances.status`: every change goes
 * through `transition` (pure, in domain/) and is a compare-and-set on the current status, so two pool processes
 * can never both move the same instance.
 */
export class Instances extends Context.Service<Instances, {
  insertStarting(row: NewSlot): Effect.Effect<void>
  setCompute(id: string, ref: ComputeRef, url: string): Effect.Effect<void>
  /** Applies an event if the instance is still in `from`; None when it moved meanwhile (or the event is refused). */
  applyEvent(id: string, from: InstanceStatus, event: InstanceEvent, fields?: TransitionFields): Effect.Effect<Option.Option<InstanceRow>>
  /**
   * The claim: one statement takes the oldest idle instance no other transaction holds. `JoinUrlTaken` when another
   * live claim already holds the same joinUrl (a unique partial index guarantees there is at most one).
   */
  claimIdle(request: ClaimRequest, owner: string): Effect.Effect<Option.Option<InstanceRow> | "JoinUrlTaken">
  /** The claim of the slot warmed for this process's waiting claim: None when it is not idle (yet). */
  claimReserved(id: string, request: ClaimRequest, owner: string): Effect.Effect<Option.Option<InstanceRow> | "JoinUrlTaken">
  /** Frees reservations whose claiming process is gone, so the slot joins the idle pool. */
  releaseReservations(aliveOwners: ReadonlySet<string>): Effect.Effect<number>
  /** Reserves a slot already warming (not reserved) for a waiting claim of `owner`. */
  reserveStarting(owner: string): Effect.Effect<Option.Option<InstanceRow>>
  /** Drops a reservation (the claim stopped waiting). */
  unreserve(id: string, owner: string): Effect.Effect<void>
  setPersona(
    id: string,
    change: { readonly agentName?: string | undefined; readonly instructions?: string | undefined },
  ): Effect.Effect<Option.Option<InstanceRow>>
  findById(id: string): Effect.Effect<Option.Option<InstanceRow>>
  findLiveByJoinUrl(joinUrl: string): Effect.Effect<Option.Option<InstanceRow>>
  list(statuses?: ReadonlyArray<InstanceStatus>): Effect.Effect<ReadonlyArray<InstanceRow>>
  readonly counts: Effect.Effect<StatusCounts>
  recordHealth(id: string, healthy: boolean, inboxId: string | null): Effect.Effect<void>
  /** Many health results in one statement (a reconcile tick of a large pool). */
  recordHealthBatch(results: ReadonlyArray<{ readonly id: string; readonly healthy: boolean; readonly inboxId: string | null }>): Effect.Effect<void>
  delete(id: string): Effect.Effect<void>
  recordResourceIntent(instanceId: string, tool: string): Effect.Effect<void>
  activateResource(instanceId: string, tool: string, resourceId: string, envKeys: ReadonlyArray<string>, meta: Readonly<Record<string, unknown>>): Effect.Effect<void>
  resourcesOf(instanceId: string): Effect.Effect<ReadonlyArray<ResourceRow>>
  deleteResource(instanceId: string, tool: string): Effect.Effect<void>
  /** Resource rows whose instance row is gone (a crash between the two deletes, or mid warm-up). */
  readonly orphanResources: Effect.Effect<ReadonlyArray<ResourceRow>>
}>()("pool/db/Instances") {
  static readonly layer = Layer.effect(
    Instances,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const one = (rows: ReadonlyArray<InstanceRow>) => Option.fromNullishOr(rows[0])

      const insertStarting = Effect.fn("Instances.insertStarting")(function*(row: NewSlot) {
        yield* sql`INSERT INTO instances (id, status, host_id, url, reserved_by, compute_kind, token_hash, owner)
          VALUES (${row.id}, 'starting', ${row.hostId}, ${row.url}, ${row.reservedBy}, ${row.computeKind}, ${row.tokenHash},
            ${row.owner})`
      }, Effect.orDie)

      const setCompute = Effect.fn("Instances.setCompute")(function*(id: string, ref: ComputeRef, url: string) {
        yield* sql`UPDATE instances SET compute_ref = ${JSON.stringify(ref)}::jsonb, url = ${url}, updated_at = now()
          WHERE id = ${id}`
      }, Effect.orDie)

      const applyEvent = Effect.fn("Instances.applyEvent")(function*(
        id: string,
        from: InstanceStatus,
        event: InstanceEvent,
        fields: TransitionFields = {},
      ) {
        const next = transition(from, event)
        if (!next.ok) {
          yield* Effect.logWarning(`refused transition for instance ${id}: ${next.reason}`)
          return Option.none<InstanceRow>()
        }
        const set = (column: string, value: unknown) => sql`${sql(column)} = ${value as string}`
        const updates = [
          sql`status = ${next.to}`,
          sql`updated_at = now()`,
          ...(fields.conversationId !== undefined ? [set("conversation_id", fields.conversationId)] : []),
          ...(fields.inviteUrl !== undefined ? [set("invite_url", fields.inviteUrl)] : []),
          ...(fields.inboxId !== undefined ? [set("inbox_id", fields.inboxId)] : []),
          ...(fields.reason !== undefined ? [set("status_reason", fields.reason)] : []),
          ...(fields.owner !== undefined ? [set("owner", fields.owner)] : []),
          ...(fields.clearClaim
            ? [sql`agent_name = NULL, instructions = NULL, join_url = NULL, claimed_by = NULL, claimed_at = NULL,
                conversation_id = NULL, invite_url = NULL`]
            : []),
        ]
        return one(yield* sql<InstanceRow>`UPDATE instances SET ${sql.csv(updates)}
          WHERE id = ${id} AND status = ${from} AND (${fields.ownedBy ?? null}::text IS NULL OR owner = ${fields.ownedBy ?? null})
          RETURNING ${sql.literal(columns)}`)
      }, Effect.orDie)

      const claiming = transition("idle", { _tag: "Claimed" })
      if (!claiming.ok) return yield* Effect.die(new Error("the status machine no longer allows idle → claiming"))

      const claimSet = (request: ClaimRequest, owner: string) =>
        sql`status = ${claiming.to}, agent_name = ${request.agentName}, instructions = ${request.instructions},
            join_url = ${request.joinUrl ?? null}, claimed_by = ${request.claimedBy ?? null}, claimed_at = now(),
            conversation_id = ${request.mode === "add" ? request.conversationId ?? null : null},
            owner = ${owner}, reserved_by = NULL, updated_at = now()`

      // Oldest host first (host ids are time-ordered), then oldest slot: claims pack the older hosts, so the newest
      // empty out and can be retired or drained. Only slots of a ready, non-draining host are handed out.
      const claimIdle = Effect.fn("Instances.claimIdle")(function*(request: ClaimRequest, owner: string) {
        return yield* (sql<InstanceRow>`UPDATE instances SET ${claimSet(request, owner)}
          WHERE id = (
            SELECT i.id FROM instances i WHERE i.status = 'idle' AND i.reserved_by IS NULL
              AND EXISTS (SELECT 1 FROM hosts h WHERE h.id = i.host_id AND h.status = 'ready' AND NOT h.draining)
            ORDER BY i.host_id, i.created_at LIMIT 1 FOR UPDATE SKIP LOCKED
          )
          RETURNING ${sql.literal(columns)}`.pipe(Effect.map(one))).pipe(
          Effect.catchReason("SqlError", "UniqueViolation", () => Effect.succeed("JoinUrlTaken" as const)),
        )
      }, Effect.orDie)

      const claimReserved = Effect.fn("Instances.claimReserved")(function*(id: string, request: ClaimRequest, owner: string) {
        return yield* (sql<InstanceRow>`UPDATE instances SET ${claimSet(request, owner)}
          WHERE id = ${id} AND status = 'idle' AND reserved_by = ${owner} RETURNING ${sql.literal(columns)}`.pipe(Effect.map(one))).pipe(
          Effect.catchReason("SqlError", "UniqueViolation", () => Effect.succeed("JoinUrlTaken" as const)),
        )
      }, Effect.orDie)

      const releaseReservations = Effect.fn("Instances.releaseReservations")(function*(aliveOwners: ReadonlySet<string>) {
        const rows = yield* sql<{ id: string; reserved_by: string }>`SELECT id, reserved_by FROM instances
          WHERE reserved_by IS NOT NULL`
        const stale = rows.filter((r) => !aliveOwners.has(r.reserved_by)).map((r) => r.id)
        if (stale.length > 0) yield* sql`UPDATE instances SET reserved_by = NULL WHERE ${sql.in("id", stale)}`
        return stale.length
      }, Effect.orDie)

      /** Records a claimed agent's new name and/or instructions, only while it is still handed out. */
      const setPersona = Effect.fn("Instances.setPersona")(function*(
        id: string,
        change: { readonly agentName?: string | undefined; readonly instructions?: string | undefined },
      ) {
        return one(yield* sql<InstanceRow>`UPDATE instances SET
            agent_name = COALESCE(${change.agentName ?? null}, agent_name),
            instructions = COALESCE(${change.instructions ?? null}, instructions), updated_at = now()
          WHERE id = ${id} AND ${sql.in("status", configurable)} RETURNING ${sql.literal(columns)}`)
      }, Effect.orDie)

      const findById = Effect.fn("Instances.findById")(function*(id: string) {
        return one(yield* sql<InstanceRow>`SELECT ${sql.literal(columns)} FROM instances WHERE id = ${id}`)
      }, Effect.orDie)

      const findLiveByJoinUrl = Effect.fn("Instances.findLiveByJoinUrl")(function*(joinUrl: string) {
        return one(yield* sql<InstanceRow>`SELECT ${sql.literal(columns)} FROM instances
          WHERE join_url = ${joinUrl} AND status IN ('claiming', 'pending_acceptance', 'claimed')`)
      }, Effect.orDie)

      const list = Effect.fn("Instances.list")(function*(statuses?: ReadonlyArray<InstanceStatus>) {
        return statuses
          ? yield* sql<InstanceRow>`SELECT ${sql.literal(columns)} FROM instances WHERE ${sql.in("status", statuses)}
              ORDER BY created_at`
          : yield* sql<InstanceRow>`SELECT ${sql.literal(columns)} FROM instances ORDER BY created_at`
      }, Effect.orDie)

      const counts = Effect.gen(function*() {
        const rows = yield* sql<{ status: InstanceStatus; n: number }>`
          SELECT status, count(*)::int AS n FROM instances GROUP BY status`
        const result = Object.fromEntries(InstanceStatuses.map((s) => [s, 0])) as StatusCounts
        for (const row of rows) result[row.status] = row.n
        return result
      }).pipe(Effect.orDie, Effect.withSpan("Instances.counts"))

      const recordHealth = Effect.fn("Instances.recordHealth")(function*(id: string, healthy: boolean, inboxId: string | null) {
        yield* healthy
          ? sql`UPDATE instances SET health_failures = 0, last_health_at = now(),
              inbox_id = COALESCE(${inboxId}, inbox_id) WHERE id = ${id}`
          : sql`UPDATE instances SET health_failures = health_failures + 1 WHERE id = ${id}`
      }, Effect.orDie)

      const recordHealthBatch = Effect.fn("Instances.recordHealthBatch")(function*(
        results: ReadonlyArray<{ readonly id: string; readonly healthy: boolean; readonly inboxId: string | null }>,
      ) {
        if (results.length === 0) return
        const rows = JSON.stringify(results.map((r) => ({ id: r.id, ok: r.healthy, inbox: r.inboxId })))
        yield* sql`UPDATE instances i SET
            health_failures = CASE WHEN v.ok THEN 0 ELSE i.health_failures + 1 END,
            last_health_at = CASE WHEN v.ok THEN now() ELSE i.last_health_at END,
            inbox_id = COALESCE(v.inbox, i.inbox_id)
          FROM jsonb_to_recordset(${rows}::jsonb) AS v(id text, ok boolean, inbox text)
          WHERE i.id = v.id`
      }, Effect.orDie)

      const deleteInstance = Effect.fn("Instances.delete")(function*(id: string) {
        yield* sql`DELETE FROM instances WHERE id = ${id}`
        yield* sql`DELETE FROM tool_sends WHERE instance_id = ${id}`
      }, Effect.orDie)

      const recordResourceIntent = Effect.fn("Instances.recordResourceIntent")(function*(instanceId: string, tool: string) {
        yield* sql`INSERT INTO instance_resources (instance_id, tool, status) VALUES (${instanceId}, ${tool}, 'creating')
          ON CONFLICT (instance_id, tool) DO NOTHING`
      }, Effect.orDie)

      const activateResource = Effect.fn("Instances.activateResource")(function*(
        instanceId: string,
        tool: string,
        resourceId: string,
        envKeys: ReadonlyArray<string>,
        meta: Readonly<Record<string, unknown>>,
      ) {
        yield* sql`UPDATE instance_resources SET resource_id = ${resourceId}, status = 'active',
            env_keys = ${JSON.stringify(envKeys)}::jsonb,
            meta = ${JSON.stringify(meta)}::jsonb, updated_at = now()
          WHERE instance_id = ${instanceId} AND tool = ${tool}`
      }, Effect.orDie)

      const resourcesOf = Effect.fn("Instances.resourcesOf")(function*(instanceId: string) {
        return yield* sql<ResourceRow>`SELECT instance_id, tool, resource_id, env_keys, meta, status, created_at
          FROM instance_resources WHERE instance_id = ${instanceId} ORDER BY id`
      }, Effect.orDie)

      const deleteResource = Effect.fn("Instances.deleteResource")(function*(instanceId: string, tool: string) {
        yield* sql`DELETE FROM instance_resources WHERE instance_id = ${instanceId} AND tool = ${tool}`
      }, Effect.orDie)

      const orphanResources = sql<ResourceRow>`SELECT r.instance_id, r.tool, r.resource_id, r.env_keys, r.meta, r.status,
          r.created_at FROM instance_resources r LEFT JOIN instances i ON i.id = r.instance_id WHERE i.id IS NULL`.pipe(
        Effect.orDie,
        Effect.withSpan("Instances.orphanResources"),
      )

      const reserveStarting = Effect.fn("Instances.reserveStarting")(function*(owner: string) {
        // FOR UPDATE, not SKIP LOCKED: a warming row is locked for a moment by every health write of its warm-up,
        // and skipping it made a claim add a second slot. Waiting is brief, and a row another claim reserved
        // meanwhile fails the re-check and is passed over.
        return one(yield* sql<InstanceRow>`UPDATE instances SET reserved_by = ${owner}, updated_at = now()
          WHERE id = (SELECT id FROM instances WHERE status = 'starting' AND reserved_by IS NULL
            ORDER BY created_at LIMIT 1 FOR UPDATE)
          RETURNING ${sql.literal(columns)}`)
      }, Effect.orDie)

      const unreserve = Effect.fn("Instances.unreserve")(function*(id: string, owner: string) {
        yield* sql`UPDATE instances SET reserved_by = NULL WHERE id = ${id} AND reserved_by = ${owner}`
      }, Effect.orDie)

      return Instances.of({
        reserveStarting,
        unreserve,
        insertStarting,
        setCompute,
        applyEvent,
        claimIdle,
        claimReserved,
        releaseReservations,
        setPersona,
        findById,
        findLiveByJoinUrl,
        list,
        counts,
        recordHealth,
        recordHealthBatch,
        delete: deleteInstance,
        recordResourceIntent,
        activateResource,
        resourcesOf,
        deleteResource,
        orphanResources,
      })
    }),
  )
}
