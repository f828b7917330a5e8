import { Effect, Layer } from "effect"
import { Migrator } from "effect/sql"
import { SqlClient } from "effect/sql"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { splitStatements } from "./splitStatements.ts"

/** The project's top-level `sql/` folder of numbered plain-SQL migrations (`0001_init.sql`, …). */
export const defaultSqlDirectory = fileURLToPath(new URL("../../../sql/", import.meta.url))

const migrationFile = /^(\d+)_(.+)\.sql$/

/** Loads `<id>_<name>.sql` files; each migration runs its statements one by one. */
export const sqlDirectoryLoader = (directory: string): Migrator.Loader =>
  Effect.try({
    try: () =>
      readdirSync(directory)
        .flatMap((file) => {
          const match = migrationFile.exec(file)
          if (!match) return []
          const statements = splitStatements(readFileSync(join(directory, file), "utf8"))
          const run = Effect.gen(function*() {
            const sql = yield* SqlClient.SqlClient
            for (const statement of statements) yield* sql.unsafe(statement)
          })
          return [[Number(match[1]), match[2]!, Effect.succeed(run)] as const]
        })
        .sort((a, b) => a[0] - b[0]),
    catch: (cause) =>
      new Migrator.MigrationError({ kind: "ImportError", cause, message: `cannot read migrations in ${directory}` }),
  })

// Any constant works; it only has to be the same in every pool process.
const migrationLockKey = 4_242_001

/**
 * Applies pending migrations. Pool processes starting at once queue on a transaction-scoped advisory lock, so exactly
 * one migrates and the others then find nothing to do (instead of racing the migrator's own table lock and
 * continuing against a half-migrated schema).
 */
export const migrate = (directory = defaultSqlDirectory) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const run = Migrator.make({})
    return yield* sql.withTransaction(
      Effect.gen(function*() {
        yield* sql`SELECT pg_advisory_xact_lock(${migrationLockKey})`
        return yield* run({ loader: sqlDirectoryLoader(directory) })
      }),
    )
  })

export const MigrationsLayer = (directory = defaultSqlDirectory) => Layer.effectDiscard(migrate(directory))
