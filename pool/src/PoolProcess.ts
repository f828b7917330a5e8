import { Config, Context, Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import { randomBytes } from "node:crypto"

/**
 * This pool process's identity, and whether another process that owns a warm-up or claim is still alive.
 *
 * With PostgreSQL every pool process holds a session advisory lock keyed by its id on one reserved connection for
 * its whole life; PostgreSQL drops the lock the moment the process or its connection dies, so `isAlive` is exact
 * and a restarted pool can recover a dead process's `claiming` rows at once instead of waiting for a timeout.
 * Embedded PGlite serves one process only: there an owner is alive iff it is this process.
 */
export class PoolProcess extends Context.Service<PoolProcess, {
  readonly id: string
  isAlive(owner: string | null): Effect.Effect<boolean>
  /** The owners among `owners` whose process is alive, in one query (a reconcile tick asks for all at once). */
  aliveAmong(owners: ReadonlyArray<string>): Effect.Effect<ReadonlySet<string>>
}>()("pool/PoolProcess") {
  static readonly layerAdvisory = Layer.effect(
    PoolProcess,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const id = newProcessId()
      const connection = yield* sql.reserve.pipe(Effect.orDie)
      yield* connection.execute("SELECT pg_advisory_lock($1, $2)", [lockClass, lockObject(id)], undefined).pipe(Effect.orDie)
      const isAlive = Effect.fn("PoolProcess.isAlive")(function*(owner: string | null) {
        if (owner === null) return false
        if (owner === id) return true
        const rows = yield* sql<{ alive: boolean }>`SELECT EXISTS (
            SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = ${lockClass}::oid
              AND objid = ${lockObject(owner)}::oid AND granted) AS alive`.pipe(Effect.orDie)
        return rows[0]?.alive === true
      })
      const aliveAmong = Effect.fn("PoolProcess.aliveAmong")(function*(owners: ReadonlyArray<string>) {
        const others = [...new Set(owners)].filter((o) => o !== id)
        const alive = new Set<string>(owners.includes(id) ? [id] : [])
        if (others.length === 0) return alive
        const rows = yield* sql<{ objid: number }>`SELECT objid::text::bigint::int AS objid FROM pg_locks
          WHERE locktype = 'advisory' AND classid = ${lockClass}::oid AND granted`.pipe(Effect.orDie)
        const held = new Set(rows.map((r) => Number(r.objid)))
        for (const owner of others) if (held.has(lockObject(owner))) alive.add(owner)
        return alive
      })
      return PoolProcess.of({ id, isAlive, aliveAmong })
    }),
  )

  static readonly layerSingle = Layer.sync(PoolProcess, () => {
    const id = newProcessId()
    return PoolProcess.of({
      id,
      isAlive: (owner) => Effect.succeed(owner === id),
      aliveAmong: (owners) => Effect.succeed(new Set(owners.filter((o) => o === id))),
    })
  })

  /** Advisory locks on PostgreSQL (`DATABASE_URL` set), single-process on embedded PGlite. */
  static readonly layer = Layer.unwrap(
    Effect.map(
      Config.option(Config.String("DATABASE_URL")),
      (url) => Option.isSome(url) ? PoolProcess.layerAdvisory : PoolProcess.layerSingle,
    ),
  )
}

const lockClass = 0x636f6e76 // "conv"
const newProcessId = () => `p-${randomBytes(6).toString("hex")}`
/** A positive 31-bit hash of the process id (oid comparisons need a non-negative value). */
const lockObject = (id: string) => {
  let h = 0
  for (const ch of id) h = (Math.imul(h, 31) + ch.charCodeAt(0)) | 0
  return h & 0x7fffffff
}
