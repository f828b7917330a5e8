import { PgClient, PgConnection } from "@effect/sql-pg"
import { Cause, Config, Context, Duration, Effect, Latch, Layer, Option, Queue } from "effect"
import { SqlClient } from "effect/sql"
import { randomBytes } from "node:crypto"

/**
 * This pool process's identity, and whether another process that owns a warm-up or claim is still alive.
 *
 * With PostgreSQL every pool process holds a session advisory lock keyed by its id on a session of its own. That
 * session also listens on a channel, so a dropped connection (`pg_terminate_backend`, a restart, a network cut) is
 * noticed at once and the lock is taken again on a new session. Another process recovers an owner's work only after
 * declaring it dead, which is exact and fenced: the owner's lock was free, stayed free for the re-take grace, and the
 * declaring process then took that lock itself and wrote `pool_process_ends` in one transaction. An owner that comes
 * back later reads that row when it re-takes its lock and continues under a new identity.
 * Embedded PGlite serves one process only: there an owner is alive iff it is this process.
 */
export class PoolProcess extends Context.Service<PoolProcess, {
  /** The current identity (a process declared dead while its session was gone continues under a new one). */
  readonly id: string
  /** Waits until this process holds its liveness lock (at once unless its session just dropped). */
  readonly live: Effect.Effect<void>
  isAlive(owner: string | null): Effect.Effect<boolean>
  /**
   * The owners among `owners` whose process is alive, in one query (a reconcile tick asks for all at once). Every
   * owner left out is declared dead for good (fenced), so its work may be recovered.
   */
  aliveAmong(owners: ReadonlyArray<string>): Effect.Effect<ReadonlySet<string>>
  /**
   * Returns once `owner` does not hold its liveness lock (its process died or its session dropped; ask `isAlive`
   * next): a wait without polling, ended early by interruption.
   */
  awaitGone(owner: string): Effect.Effect<void>
  /** Whether other pool processes may share the database (then their news comes by NOTIFY). */
  readonly shared: boolean
}>()("pool/PoolProcess") {
  static readonly layerAdvisoryWith = (options: {
    /** How long an owner's lock must stay free before it is declared dead (its time to reconnect and re-take). */
    readonly retakeGrace: Duration.Input
  }) =>
    Layer.effect(
      PoolProcess,
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const pg = yield* PgClient.PgClient
        const grace = Duration.fromInputUnsafe(options.retakeGrace)
        let id = newProcessId()
        const held = yield* Latch.make(false)

        /** One session holding the lock; fails the moment that session dies. */
        const holdOnce = Effect.scoped(Effect.gen(function*() {
          const connection = yield* PgConnection.make({ ...pg.config, applicationName: `${livenessApplication} ${id}` })
          const session = yield* connection.pin
          // Blocks while another process holds it to write its verdict on us; then that verdict is read.
          yield* session.query("SELECT pg_advisory_lock($1, $2)", [lockClass, lockObject(id)])
          const ended = yield* session.query("SELECT 1 FROM pool_process_ends WHERE id = $1", [id])
          if (ended.rows.length > 0) {
            yield* session.query("SELECT pg_advisory_unlock($1, $2)", [lockClass, lockObject(id)])
            const old = id
            id = newProcessId()
            yield* Effect.logError(`pool process ${old} was declared dead while its database session was gone; ` +
              `its claims and warm-ups were recovered by another process; continuing as ${id}`)
            yield* session.query("SELECT pg_advisory_lock($1, $2)", [lockClass, lockObject(id)])
          }
          const notices = yield* session.listen(livenessChannel)
          yield* held.open
          return yield* Queue.take(notices).pipe(Effect.forever)
        })).pipe(Effect.ensuring(held.close))

        yield* holdOnce.pipe(
          Effect.catchCause((cause) =>
            Effect.logWarning(`pool process ${id} lost its liveness session (${String(Cause.squash(cause))}); taking its lock again`).pipe(
              // A short pause, so a database that refuses connections is not hammered; well under the grace.
              Effect.andThen(Effect.sleep(Duration.millis(100))),
            )
          ),
          Effect.forever,
          Effect.forkScoped,
        )
        yield* held.await.pipe(
          Effect.timeoutOrElse({ duration: Duration.seconds(30), orElse: () => Effect.die(new Error("could not take the pool process lock")) }),
        )

        /** Advisory locks of this class held in this database (a server hosts many databases). */
        const heldObjects = sql<{ objid: number }>`SELECT objid::text::bigint::int AS objid FROM pg_locks
          WHERE locktype = 'advisory' AND classid = ${lockClass}::oid AND granted
            AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`.pipe(
          Effect.map((rows) => new Set(rows.map((r) => Number(r.objid)))),
          Effect.orDie,
        )

        /** Takes a silent owner's lock and records its end, in one transaction; false if it re-took its lock first. */
        const declareDead = (owner: string) =>
          sql.withTransaction(Effect.gen(function*() {
            const rows = yield* sql<{ got: boolean }>`SELECT pg_try_advisory_xact_lock(${lockClass}, ${lockObject(owner)}) AS got`
            if (rows[0]?.got !== true) return false
            yield* sql`INSERT INTO pool_process_ends (id) VALUES (${owner}) ON CONFLICT (id) DO NOTHING`
            return true
          })).pipe(Effect.orDie)

        const aliveAmong = Effect.fn("PoolProcess.aliveAmong")(function*(owners: ReadonlyArray<string>) {
          const self = id
          const others = [...new Set(owners)].filter((o) => o !== self)
          const alive = new Set<string>(owners.includes(self) ? [self] : [])
          if (others.length === 0) return alive
          const ended = new Set((yield* sql<{ id: string }>`SELECT id FROM pool_process_ends WHERE ${sql.in("id", others)}`
            .pipe(Effect.orDie)).map((r) => r.id))
          let locked = yield* heldObjects
          const silent = others.filter((o) => !ended.has(o) && !locked.has(lockObject(o)))
          if (silent.length > 0) {
            // A free lock may be a session that just dropped: its process gets the grace to take it again.
            yield* Effect.sleep(grace)
            locked = yield* heldObjects
          }
          for (const owner of others) {
            if (ended.has(owner)) continue
            if (locked.has(lockObject(owner)) || !(yield* declareDead(owner))) alive.add(owner)
          }
          return alive
        })

        const isAlive = Effect.fn("PoolProcess.isAlive")(function*(owner: string | null) {
          if (owner === null) return false
          return (yield* aliveAmong([owner])).has(owner)
        })

        // Blocks on a session of its own: a shared lock is granted only once the owner's exclusive one is gone. The
        // lock is a transaction's, released as the statement ends, so the owner can take its own lock again at once.
        const awaitGone = (owner: string) =>
          Effect.scoped(Effect.gen(function*() {
            const connection = yield* PgConnection.make(pg.config)
            yield* connection.query("SELECT pg_advisory_xact_lock_shared($1, $2)", [lockClass, lockObject(owner)]).pipe(
              // A backend waiting for a lock does not notice its client leave: a waiter that stops ends it.
              Effect.onInterrupt(() => sql`SELECT pg_terminate_backend(${connection.processId})`.pipe(Effect.ignore)),
            )
          })).pipe(Effect.orDie, Effect.withSpan("PoolProcess.awaitGone"))

        return PoolProcess.of({
          get id() {
            return id
          },
          live: held.await,
          isAlive,
          aliveAmong,
          awaitGone,
          shared: true,
        })
      }),
    )

  static readonly layerAdvisory = Layer.unwrap(
    Effect.map(
      Config.Duration("POOL_LOCK_RETAKE_GRACE").pipe(Config.withDefault(Duration.seconds(5))),
      (retakeGrace) => PoolProcess.layerAdvisoryWith({ retakeGrace }),
    ),
  )

  static readonly layerSingle = Layer.sync(PoolProcess, () => {
    const id = newProcessId()
    return PoolProcess.of({
      id,
      live: Effect.void,
      isAlive: (owner) => Effect.succeed(owner === id),
      aliveAmong: (owners) => Effect.succeed(new Set(owners.filter((o) => o === id))),
      awaitGone: (owner) => (owner === id ? Effect.never : Effect.void),
      shared: false,
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

/** The session holding a process's lock is named (with the process id), so an operator (or a fault test) can find it in pg_stat_activity. */
export const livenessApplication = "convos-pool-liveness"
const livenessChannel = "convos_pool_liveness"
export const lockClass = 0x636f6e76 // "conv"
const newProcessId = () => `p-${randomBytes(6).toString("hex")}`
/** A positive 31-bit hash of the process id (oid comparisons need a non-negative value). */
export const lockObject = (id: string) => {
  let h = 0
  for (const ch of id) h = (Math.imul(h, 31) + ch.charCodeAt(0)) | 0
  return h & 0x7fffffff
}
