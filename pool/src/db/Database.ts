import { PgClient } from "@effect/sql-pg"
import { PGlite } from "@electric-sql/pglite"
import { PGLiteSocketServer } from "@electric-sql/pglite-socket"
import { Config, Effect, Layer, Option, Redacted } from "effect"
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { DataDir } from "../DataDir.ts"
import { MigrationsLayer } from "./Migrations.ts"

/**
 * The pool's database: PostgreSQL when `DATABASE_URL` is set, else embedded PGlite persisted under `DATA_DIR`
 * (so `npm start` works anywhere). Migrations are applied before anything else uses it.
 */
const postgres = (url: Redacted.Redacted<string>, maxConnections: number) =>
  PgClient.layer({ url, maxConnections })

/** PGlite behind its wire-protocol socket on a random loopback port, so the same pg client serves both. */
const embedded = (dataDir: string) =>
  Layer.unwrap(
    Effect.gen(function*() {
      const directory = join(dataDir, "pglite")
      mkdirSync(directory, { recursive: true })
      const server = yield* Effect.acquireRelease(
        Effect.promise(async () => {
          const db = await PGlite.create(directory)
          const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 4 })
          await server.start()
          return { db, server }
        }),
        ({ db, server }) => Effect.promise(async () => {
          await server.stop()
          await db.close()
        }),
      )
      const [host, port] = server.server.getServerConn().split(":")
      yield* Effect.logInfo(`embedded PGlite database in ${directory} (set DATABASE_URL to use PostgreSQL)`)
      // PGlite runs one backend: a single connection keeps transactions from interleaving.
      return PgClient.layer({ host: host!, port: Number(port), username: "postgres", database: "postgres", maxConnections: 1 })
    }),
  )

export const Database = Layer.unwrap(
  Effect.gen(function*() {
    const url = yield* Config.option(Config.Redacted("DATABASE_URL"))
    const maxConnections = yield* Config.Int("DATABASE_MAX_CONNECTIONS").pipe(Config.withDefault(10))
    const dataDir = yield* DataDir
    const client = Option.isSome(url) ? postgres(url.value, maxConnections) : embedded(dataDir)
    return MigrationsLayer().pipe(Layer.provideMerge(client))
  }),
).pipe(Layer.provide(DataDir.layer))
