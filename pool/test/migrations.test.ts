import { assert, describe, it } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { migrate } from "../src/db/Migrations.ts"
import { splitStatements } from "../src/db/splitStatements.ts"
import { scopedDatabase } from "../../test/db/testDatabase.ts"

describe("splitStatements", () => {
  it("splits on top-level semicolons only", () => {
    const script = `
      -- a comment; with a semicolon
      CREATE TABLE a (x TEXT DEFAULT 'a;b');
      /* block; comment */
      CREATE FUNCTION f() RETURNS trigger AS $body$ BEGIN RETURN NULL; END; $body$ LANGUAGE plpgsql;
      CREATE TABLE "we;ird" (y INT);
      SELECT 'it''s; fine'
    `
    const statements = splitStatements(script)
    assert.strictEqual(statements.length, 4)
    assert.include(statements[0]!, "DEFAULT 'a;b'")
    assert.include(statements[1]!, "RETURN NULL; END;")
    assert.include(statements[2]!, '"we;ird"')
    assert.include(statements[3]!, "'it''s; fine'")
  })

  it("drops statements that are only comments", () => {
    assert.deepStrictEqual(splitStatements("-- nothing here;\n/* nor; here */"), [])
  })
})

describe("migrate", () => {
  it.live("applies every migration once even when several pool processes start at the same moment", () =>
    Effect.gen(function*() {
      const { url } = yield* scopedDatabase
      // Separate clients, as separate pool processes would have.
      const runOne = migrate().pipe(
        Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 2 })),
      )
      const results = yield* Effect.all([runOne, runOne, runOne, runOne], { concurrency: "unbounded" })
      const applied = results.map((r) => r.length)
      assert.strictEqual(applied.filter((n) => n > 0).length, 1, `exactly one process migrates: ${applied}`)
      const tables = yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        return yield* sql<{ table_name: string }>`
          SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`
      }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 1 })))
      const names = tables.map((t) => t.table_name)
      for (const table of ["instances", "instance_resources", "claims", "pool_settings"]) {
        assert.include(names, table)
      }
    }).pipe(Effect.scoped))
})
