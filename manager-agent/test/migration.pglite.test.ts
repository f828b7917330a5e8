/** sql/0002_manager.sql (and 0008, which drops its instructions column) must also run on PGlite (the product's embedded default), not only on PostgreSQL 15. */
import { PGlite } from "@electric-sql/pglite"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { splitStatements } from "../../pool/src/db/splitStatements.ts"

const sqlFile = (name: string) => readFileSync(fileURLToPath(new URL(`../../sql/${name}`, import.meta.url)), "utf8")

describe("the manager migration on PGlite", () => {
  it("applies after the pool's, and its upsert, case-insensitive lookup and first-time insert behave", async () => {
    const db = await PGlite.create()
    try {
      for (const file of ["0001_init.sql", "0002_manager.sql", "0008_manager_instructions.sql"]) {
        for (const statement of splitStatements(sqlFile(file))) await db.query(statement)
      }
      await db.query(
        `INSERT INTO manager_agents (instance_id, conversation_id, agent_name, inbox_id, spawned_by)
         VALUES ('i1', 'c1', 'Chef', 'ABCDEF', 'alice')`,
      )
      const found = await db.query(`SELECT 1::int AS found FROM manager_agents WHERE lower(inbox_id) = $1`, ["abcdef"])
      expect(found.rows).toEqual([{ found: 1 }])
      const first = await db.query(`INSERT INTO manager_conversations (conversation_id) VALUES ('c1') ON CONFLICT DO NOTHING RETURNING conversation_id`)
      const second = await db.query(`INSERT INTO manager_conversations (conversation_id) VALUES ('c1') ON CONFLICT DO NOTHING RETURNING conversation_id`)
      expect([first.rows.length, second.rows.length]).toEqual([1, 0])
    } finally {
      await db.close()
    }
    // PGlite runs initdb in WebAssembly on every create: seconds alone, much more beside a gateway start-up.
  }, 180_000)
})
