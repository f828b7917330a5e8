/**
 * The manager as a user meets it, on the fake XMTP node: its real XMTP chat, a fake pool of pre-warmed XMTP agents
 * (`makeXmtpPool`), ownership in a fresh Postgres database. For tests driving real clients (the Convos CLI among
 * them) and for trying the manager by hand (`convosCli.ts` has the CLI side).
 */
import { Duration, Effect, Layer, ManagedRuntime } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { TestDatabaseLayer } from "../../../test/db/testDatabase.ts"
import { startFakeXmtpNode, type FakeXmtpNode } from "../../../test/xmtp/fakeNode.ts"
import { ManagerBotLayer, type ManagerBotHooks } from "../../src/bot/ManagerBot.ts"
import { ManagerLobby, XmtpChatLayer } from "../../src/bot/XmtpChat.ts"
import { Commands } from "../../src/commands/Commands.ts"
import { Ownership } from "../../src/db/Ownership.ts"
import { IntentParser } from "../../src/intent/IntentParser.ts"
import { TemplateCatalog } from "../../src/intent/TemplateCatalog.ts"
import { ManagerSettings } from "../../src/ManagerSettings.ts"
import { defaultLimits } from "../../src/commands/policy.ts"
import type { SqlClient } from "effect/sql"
import type { AgentPool } from "../../src/ports/AgentPool.ts"
import { makeXmtpPool } from "./xmtpWorld.ts"

/**
 * A manager process on the fake node: its XMTP client on `stateDir`, the given pool, ownership in the given
 * database, rules-only intents. A live stream can lose a message (libxmtp#2351): a sweep every 2 s keeps that from
 * failing a test's wait.
 */
export const startManager = async (options: {
  readonly stateDir: string
  readonly apiUrl: string
  readonly pool: Layer.Layer<AgentPool>
  readonly sql: Layer.Layer<SqlClient.SqlClient>
  readonly hooks?: ManagerBotHooks
}) => {
  const deps = Layer.mergeAll(
    XmtpChatLayer({ stateDir: options.stateDir, env: "local", apiUrl: options.apiUrl, name: "Manager", catchUpEvery: Duration.seconds(2) }),
    options.pool,
    Ownership.layer,
    IntentParser.layerRulesOnly.pipe(Layer.provide(TemplateCatalog.layerSeed)),
    TemplateCatalog.layerSeed,
    // Test members are all new inboxes: they get the seen-before budget here (the new-sender rule is in policy.test).
    ManagerSettings.layerOf({ name: "Manager", limits: { ...defaultLimits, spawnsPerNewSenderPerHour: 10 } }),
  )
  const runtime = ManagedRuntime.make(
    ManagerBotLayer(options.hooks).pipe(Layer.provide(Commands.layer), Layer.provideMerge(deps), Layer.provide(options.sql)),
  )
  const lobby = await runtime.runPromise(Effect.gen(function*() {
    return yield* ManagerLobby
  }))
  return { runtime, lobby }
}

export interface ManagerWorld {
  readonly node: FakeXmtpNode
  readonly lobby: ManagerLobby["Service"]
  readonly pool: Awaited<ReturnType<typeof makeXmtpPool>>
  close(): Promise<void>
}

export const startManagerWorld = async (
  options: { readonly port?: number; readonly warm?: number; readonly hooks?: ManagerBotHooks } = {},
): Promise<ManagerWorld> => {
  const node = await startFakeXmtpNode(options.port === undefined ? {} : { port: options.port })
  const stateDir = mkdtempSync(join(tmpdir(), "manager-world-"))
  const pool = await makeXmtpPool({ apiUrl: node.apiUrl, warm: options.warm ?? 2 })
  const database = ManagedRuntime.make(TestDatabaseLayer({ maxConnections: 4 }))
  const sql = Layer.succeedContext(await database.context())
  const { runtime, lobby } = await startManager({ stateDir, apiUrl: node.apiUrl, pool: pool.layer, sql, ...(options.hooks ? { hooks: options.hooks } : {}) })
  return {
    node,
    lobby,
    pool,
    close: async () => {
      await runtime.dispose()
      await database.dispose()
      await pool.close()
      await node.stop()
      rmSync(stateDir, { recursive: true, force: true })
    },
  }
}
