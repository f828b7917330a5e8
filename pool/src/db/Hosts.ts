import { Context, Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import type { ComputeRef } from "../compute/ComputeProvider.ts"
import { type HostLoad, type HostStatus, movingAverage } from "../domain/placement.ts"

/** One row of `hosts`, with the slots it holds counted by status. */
export interface HostRow {
  readonly id: string
  readonly status: HostStatus
  readonly draining: boolean
  readonly compute_kind: string
  readonly compute_ref: ComputeRef
  readonly url: string | null
  readonly token_hash: string
  readonly capacity: number
  readonly version: string | null
  readonly health_failures: number
  readonly last_health_at: Date | null
  readonly start_ms: number | null
  readonly slot_ready_ms: number | null
  readonly owner: string | null
  readonly created_at: Date
  /** Slot rows on the host (any status), and of those: idle, starting, and handed out (claiming … claimed). */
  readonly slots: number
  readonly idle: number
  readonly starting: number
  readonly used: number
}

const columns = `h.id, h.status, h.draining, h.compute_kind, h.compute_ref, h.url, h.token_hash, h.capacity, h.version,
  h.health_failures, h.last_health_at, h.start_ms, h.slot_ready_ms, h.owner, h.created_at,
  c.slots, c.idle, c.starting, c.used`

/** Each host with its slots counted: one index scan of `instances` per host. */
const fromHosts = `hosts h CROSS JOIN LATERAL (SELECT count(*)::int AS slots,
    count(*) FILTER (WHERE i.status = 'idle')::int AS idle,
    count(*) FILTER (WHERE i.status = 'starting')::int AS starting,
    count(*) FILTER (WHERE i.status IN ('claiming', 'pending_acceptance', 'claimed'))::int AS used
  FROM instances i WHERE i.host_id = h.id) c`

export interface HostHealthResult {
  readonly id: string
  readonly status: HostStatus
  readonly ok: boolean
  readonly version: string | null
}

export const loadOf = (h: HostRow): HostLoad => ({
  id: h.id,
  status: h.status,
  draining: h.draining,
  capacity: h.capacity,
  slots: h.slots,
})

/**
 * Repository over `hosts`. Host status changes are decided by `nextHostStatus` (domain/placement.ts); `retiring`
 * is set only under the replenish lock, on a host with no slot rows, before its compute is destroyed.
 */
export class Hosts extends Context.Service<Hosts, {
  insert(row: { id: string; computeKind: string; tokenHash: string; capacity: number; owner: string }): Effect.Effect<void>
  /** Records the compute of a host still `starting`; false when it was retired meanwhile (the caller destroys it). */
  setCompute(id: string, ref: ComputeRef, url: string): Effect.Effect<boolean>
  findById(id: string): Effect.Effect<Option.Option<HostRow>>
  readonly list: Effect.Effect<ReadonlyArray<HostRow>>
  setStatus(id: string, status: HostStatus, health: { readonly ok: boolean; readonly version?: string | undefined }): Effect.Effect<void>
  /** Every host's status and health result of a reconcile tick in one statement. */
  recordHealthBatch(results: ReadonlyArray<HostHealthResult>): Effect.Effect<void>
  recordStart(id: string, ms: number): Effect.Effect<void>
  recordSlotReady(id: string, ms: number): Effect.Effect<void>
  /** The provider lost the host's compute: no URL to call any more (its slots are destroyed without a call). */
  forget(id: string): Effect.Effect<void>
  setDraining(id: string, draining: boolean): Effect.Effect<Option.Option<HostRow>>
  /** Marks an empty host `retiring` (the intent row); false when it has slots again or is gone. */
  markRetiring(id: string): Effect.Effect<boolean>
  delete(id: string): Effect.Effect<void>
}>()("pool/db/Hosts") {
  static readonly layer = Layer.effect(
    Hosts,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient

      const insert = Effect.fn("Hosts.insert")(function*(row: {
        id: string
        computeKind: string
        tokenHash: string
        capacity: number
        owner: string
      }) {
        yield* sql`INSERT INTO hosts (id, status, compute_kind, token_hash, capacity, owner)
          VALUES (${row.id}, 'starting', ${row.computeKind}, ${row.tokenHash}, ${row.capacity}, ${row.owner})`
      }, Effect.orDie)

      const setCompute = Effect.fn("Hosts.setCompute")(function*(id: string, ref: ComputeRef, url: string) {
        const rows = yield* sql`UPDATE hosts SET compute_ref = ${JSON.stringify(ref)}::jsonb, url = ${url}, updated_at = now()
          WHERE id = ${id} AND status <> 'retiring' RETURNING id`
        if (rows.length === 0) return false
        // A slot's URL is its host's (the slot routes live on the host); hosts keep their URL for life.
        yield* sql`UPDATE instances SET url = ${url} WHERE host_id = ${id}`
        return true
      }, Effect.orDie)

      const findById = Effect.fn("Hosts.findById")(function*(id: string) {
        return Option.fromNullishOr(
          (yield* sql<HostRow>`SELECT ${sql.literal(columns)} FROM ${sql.literal(fromHosts)} WHERE h.id = ${id}`)[0],
        )
      }, Effect.orDie)

      const list = sql<HostRow>`SELECT ${sql.literal(columns)} FROM ${sql.literal(fromHosts)} ORDER BY h.id`.pipe(
        Effect.orDie,
        Effect.withSpan("Hosts.list"),
      )

      const setStatus = Effect.fn("Hosts.setStatus")(function*(
        id: string,
        status: HostStatus,
        health: { readonly ok: boolean; readonly version?: string | undefined },
      ) {
        yield* health.ok
          ? sql`UPDATE hosts SET status = ${status}, health_failures = 0, last_health_at = now(),
              version = COALESCE(${health.version ?? null}, version), updated_at = now()
              WHERE id = ${id} AND status <> 'retiring'`
          : sql`UPDATE hosts SET status = ${status}, health_failures = health_failures + 1, updated_at = now()
              WHERE id = ${id} AND status <> 'retiring'`
      }, Effect.orDie)

      const recordHealthBatch = Effect.fn("Hosts.recordHealthBatch")(function*(results: ReadonlyArray<HostHealthResult>) {
        if (results.length === 0) return
        yield* sql`UPDATE hosts h SET status = v.status,
            health_failures = CASE WHEN v.ok THEN 0 ELSE h.health_failures + 1 END,
            last_health_at = CASE WHEN v.ok THEN now() ELSE h.last_health_at END,
            version = COALESCE(v.version, h.version), updated_at = now()
          FROM jsonb_to_recordset(${JSON.stringify(results)}::jsonb) AS v(id text, status text, ok boolean, version text)
          WHERE h.id = v.id AND h.status <> 'retiring'`
      }, Effect.orDie)

      const average = (column: "start_ms" | "slot_ready_ms") =>
        Effect.fn(`Hosts.record.${column}`)(function*(id: string, ms: number) {
          const rows = yield* sql<{ v: number | null }>`SELECT ${sql(column)} AS v FROM hosts WHERE id = ${id}`
          if (rows.length === 0) return
          yield* sql`UPDATE hosts SET ${sql(column)} = ${movingAverage(rows[0]!.v, ms)} WHERE id = ${id}`
        }, Effect.orDie)

      const setDraining = Effect.fn("Hosts.setDraining")(function*(id: string, draining: boolean) {
        yield* sql`UPDATE hosts SET draining = ${draining}, updated_at = now() WHERE id = ${id}`
        return yield* findById(id)
      }, Effect.orDie)

      const forget = Effect.fn("Hosts.forget")(function*(id: string) {
        yield* sql`UPDATE hosts SET url = NULL, status = 'down', updated_at = now() WHERE id = ${id} AND status <> 'retiring'`
        yield* sql`UPDATE instances SET url = NULL WHERE host_id = ${id}`
      }, Effect.orDie)

      const markRetiring = Effect.fn("Hosts.markRetiring")(function*(id: string) {
        const rows = yield* sql`UPDATE hosts SET status = 'retiring', updated_at = now()
          WHERE id = ${id} AND NOT EXISTS (SELECT 1 FROM instances WHERE host_id = ${id}) RETURNING id`
        return rows.length > 0
      }, Effect.orDie)

      const deleteHost = Effect.fn("Hosts.delete")(function*(id: string) {
        yield* sql`DELETE FROM hosts WHERE id = ${id}`
      }, Effect.orDie)

      return Hosts.of({
        insert,
        setCompute,
        findById,
        list,
        setStatus,
        recordHealthBatch,
        recordStart: average("start_ms"),
        recordSlotReady: average("slot_ready_ms"),
        forget,
        setDraining,
        markRetiring,
        delete: deleteHost,
      })
    }),
  )
}
