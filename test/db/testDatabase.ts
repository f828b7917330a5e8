import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { randomBytes } from "node:crypto"
import { MigrationsLayer } from "../../pool/src/db/Migrations.ts"

/**
 * A fresh PostgreSQL database per test layer on the local server (TEST_DATABASE_URL, default trust auth on
 * 127.0.0.1:5432), dropped when the layer is released. Tests of the pool run on real PostgreSQL: concurrency and
 * SKIP LOCKED cannot be shown on PGlite.
 */
export const adminUrl = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"

export const withDatabaseName = (url: string, database: string) => {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  return parsed.toString()
}

const admin = PgClient.layer({ url: Redacted.make(adminUrl), maxConnections: 1 })

/** Creates an empty database and returns its URL; drops it on scope close. */
export const scopedDatabase = Effect.acquireRelease(
  Effect.gen(function*() {
    const name = `convos_test_${randomBytes(6).toString("hex")}`
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(`CREATE DATABASE ${name}`)
    return { name, url: withDatabaseName(adminUrl, name) }
  }).pipe(Effect.provide(admin), Effect.orDie),
  ({ name }) =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    }).pipe(Effect.provide(admin), Effect.orDie),
)

/** SqlClient on a fresh, migrated database. */
export const TestDatabaseLayer = (options: { readonly maxConnections?: number } = {}) =>
  Layer.unwrap(
    Effect.map(scopedDatabase, ({ url }) =>
      MigrationsLayer().pipe(
        Layer.provideMerge(PgClient.layer({ url: Redacted.make(url), maxConnections: options.maxConnections ?? 10 })),
      )),
  )

/**
 * One migrated database that several pool processes share: each `client()` is a client of its own (its own
 * connections, as a separate process would have).
 */
export const sharedDatabase = Effect.gen(function*() {
  const { url } = yield* scopedDatabase
  const client = () =>
    MigrationsLayer().pipe(Layer.provideMerge(PgClient.layer({ url: Redacted.make(url), maxConnections: 6 })))
  yield* Effect.scoped(Layer.build(client()))
  return { url, client }
})
