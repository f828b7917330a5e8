/**
 * `npm run bench:spawn`: 20 spawns from chat with a warm pool, on the fake XMTP node with the fake model, measured
 * from the user's side:
 *   - message sent → the user sees the agent added to the group (the membership commit reaches them);
 *   - message sent → the agent's first message reaches the user.
 * The manager reads intents through the model path (fake model, scripted tool call); each agent writes its greeting
 * with a fake-model completion. Needs PostgreSQL on 127.0.0.1 (TEST_DATABASE_URL), like the tests.
 */
import { Duration, Effect, Layer, ManagedRuntime, Option, Redacted } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startFakeModel } from "../../test/fakes/fakeModel.ts"
import { TestDatabaseLayer } from "../../test/db/testDatabase.ts"
import { startFakeXmtpNode } from "../../test/xmtp/fakeNode.ts"
import { ManagerBotLayer } from "../src/bot/ManagerBot.ts"
import { ManagerLobby, XmtpChatLayer } from "../src/bot/XmtpChat.ts"
import { Commands } from "../src/commands/Commands.ts"
import { Ownership } from "../src/db/Ownership.ts"
import { IntentParser } from "../src/intent/IntentParser.ts"
import { TemplateCatalog } from "../src/intent/TemplateCatalog.ts"
import { ManagerSettings } from "../src/ManagerSettings.ts"
import { defaultLimits } from "../src/commands/policy.ts"
import { makeUser, makeXmtpPool, waitFor } from "../test/support/xmtpWorld.ts"
import type { Group } from "@xmtp/node-sdk"

const RUNS = 20
const WARMUP = 2

const percentile = (values: ReadonlyArray<number>, p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

const main = async () => {
  const node = await startFakeXmtpNode()
  const model = await startFakeModel((request) => {
    const tools = request.body.tools
    if (Array.isArray(tools) && tools.length > 0) {
      return {
        toolCalls: [
          {
            name: "spawn_agent",
            arguments: {
              name: "Trip Planner",
              role: "trip planner",
              persona: "You are Trip Planner. Help this group plan its trip: dates, budget, a day-by-day plan.",
              template: "trip-planner",
            },
          },
        ],
      }
    }
    return "Hi everyone, I'm Trip Planner! Where are we going?"
  })
  const pool = await makeXmtpPool({ apiUrl: node.apiUrl, warm: RUNS + WARMUP, greetingModelUrl: model.baseUrl })
  const stateDir = mkdtempSync(join(tmpdir(), "bench-manager-"))
  const manager = ManagerBotLayer().pipe(
    Layer.provide(Commands.layer),
    Layer.provideMerge(
      Layer.mergeAll(
        XmtpChatLayer({ stateDir, env: "local", apiUrl: node.apiUrl, name: "Manager" }),
        pool.layer,
        Ownership.layer,
        Layer.effect(
          IntentParser,
          IntentParser.make(
            Option.some({ baseUrl: model.baseUrl, apiKey: Redacted.make("bench"), model: "fake-model", timeout: Duration.seconds(5), retries: 1 }),
          ),
        ).pipe(Layer.provide(TemplateCatalog.layerSeed)),
        TemplateCatalog.layerSeed,
        ManagerSettings.layerOf({ name: "Manager", limits: { ...defaultLimits, spawnsPerSenderPerHour: 1_000, spawnsPerNewSenderPerHour: 1_000, spawnsPerHour: 1_000_000 } }),
      ),
    ),
  )
  const runtime = ManagedRuntime.make(manager.pipe(Layer.provide(TestDatabaseLayer({ maxConnections: 4 }))))
  const alice = await makeUser(node.apiUrl)
  const bob = await makeUser(node.apiUrl)
  try {
    const lobby = await runtime.runPromise(Effect.gen(function* () {
      return yield* ManagerLobby
    }))
    const member: Array<number> = []
    const firstMessage: Array<number> = []
    for (let run = 0; run < RUNS + WARMUP; run++) {
      const group = (await alice.client.conversations.createGroup([lobby.inboxId, bob.client.inboxId])) as Group
      // Let the manager's one-time introduction pass so it does not overlap the measurement.
      await waitFor(() => alice.texts(group.id).some((m) => m.sender === lobby.inboxId), "the manager's introduction")
      const sent = Date.now()
      await group.sendText("spawn a trip planner for Tokyo in March, budget-minded")
      const agentInbox = await waitFor(() => pool.state.claimedInboxes.at(run), "a claim")
      const added = await waitFor(() => alice.addedAt(group.id, agentInbox), "the agent joining", 15_000)
      const greeted = await waitFor(
        () => alice.texts(group.id).find((m) => m.sender === agentInbox)?.at,
        "the agent's first message",
        15_000,
      )
      if (run >= WARMUP) {
        member.push(added - sent)
        firstMessage.push(greeted - sent)
      }
    }
    const line = (label: string, values: ReadonlyArray<number>) =>
      `${label.padEnd(42)} p50 ${String(percentile(values, 50)).padStart(5)} ms   p99 ${String(percentile(values, 99)).padStart(5)} ms`
    process.stdout.write(
      [
        `bench:spawn — ${RUNS} spawns (after ${WARMUP} warm-up), warm pool, fake XMTP node, fake model (intents + greetings)`,
        line("message sent → agent is a member", member),
        line("message sent → agent's first message", firstMessage),
        "targets: member p50 ≤ 250 ms, first message p50 ≤ 2000 ms",
      ].join("\n") + "\n",
    )
  } finally {
    await alice.close()
    await bob.close()
    await runtime.dispose()
    await pool.close()
    await model.stop()
    await node.stop()
    rmSync(stateDir, { recursive: true, force: true })
  }
}

await main()
process.exit(0)
