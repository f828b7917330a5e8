/**
 * npm run bench:join — on the in-process fake XMTP node, 2 warm-up + 20 measured runs each of
 *  (a) direct add: manager `addMembers` → the added agent's `expectAdd` has bound the group;
 *  (b) invite join: joiner `joinByInvite` called (parse + DM + join request) → `joined`,
 *      with the creator deciding and adding automatically;
 * and, interleaved so machine load hits both alike, the raw-SDK floor of (a): `addMembers` → the added node-sdk
 * client's `conversations.stream()` yields the group. Prints p50 / p90 / p99 / max and the ratio of the p50s.
 */
import { mkdtemp, rm } from "node:fs/promises"
import { cpus, loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { Client, type Group } from "@xmtp/node-sdk"
import { generatePrivateKey } from "viem/accounts"
import { startFakeXmtpNode } from "../../test/xmtp/fakeNode.ts"
import { ConvosClient } from "../client.ts"
import { signerFor } from "../client/sdk.ts"

const RUNS = Number(process.env.BENCH_RUNS ?? 20)
const WARMUP = 2

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN
}
function summary(label: string, samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b)
  const p50 = percentile(sorted, 50)
  console.log(
    `${label.padEnd(48)} p50 ${p50.toFixed(1).padStart(6)} ms  p90 ${percentile(sorted, 90).toFixed(1).padStart(6)}  p99 ${percentile(sorted, 99).toFixed(1).padStart(6)}  max ${sorted[sorted.length - 1]!.toFixed(1).padStart(6)}  (n=${samples.length})`,
  )
  return p50
}

const node = await startFakeXmtpNode()
const root = await mkdtemp(join(tmpdir(), "convos-bench-join-"))
const open = (name: string, welcomePolicy: "expected_only" | "accept_all") =>
  ConvosClient.open({
    stateDir: join(root, name),
    env: "local",
    apiUrl: node.apiUrl,
    encryptionKey: "",
    // BENCH_DB=memory compares against in-memory databases (no SQLCipher file I/O).
    dbPath: process.env.BENCH_DB === "memory" ? null : join(root, name, "xmtp.db3"),
    welcomePolicy,
    onError: (error, context) => console.error(`${name}: background error in ${context}:`, (error as Error).message),
  })

try {
  const manager = await open("manager", "accept_all")
  const agent = await open("agent", "expected_only")
  const joiner = await open("joiner", "expected_only")

  // Raw clients use the same database mode as ours, so the floors differ from (a) only by this layer.
  let rawCount = 0
  const rawOptions = () => {
    rawCount++
    return {
      env: "local",
      apiUrl: node.apiUrl,
      disableDeviceSync: true,
      ...(process.env.BENCH_DB === "memory"
        ? { dbPath: null }
        : { dbPath: join(root, `raw-${rawCount}.db3`), dbEncryptionKey: new Uint8Array(32).fill(rawCount) }),
    } as const
  }
  const rawSigner = () => signerFor(generatePrivateKey())
  /**
   * Raw node-sdk pair: the manager adds the agent, timed until the agent's conversation stream yields the group.
   * `withMessageStreams` also runs `streamAllMessages` on both, as every ConvosClient does: libxmtp then processes
   * each welcome on that subscription too, which is most of the difference between the two floors.
   */
  async function rawPair(withMessageStreams: boolean) {
    const manager = await Client.create(rawSigner(), rawOptions())
    const agent = await Client.create(rawSigner(), rawOptions())
    const welcomes = await agent.conversations.stream()
    const seen = new Map<string, () => void>()
    void (async () => {
      for await (const conversation of welcomes) seen.get(conversation.id)?.()
    })()
    const streams: Array<{ end(): Promise<unknown> }> = [welcomes]
    if (withMessageStreams)
      for (const client of [manager, agent]) {
        const messages = await client.conversations.streamAllMessages()
        streams.push(messages)
        void (async () => {
          for await (const _ of messages);
        })()
      }
    return {
      samples: [] as number[],
      missedByStream: 0,
      async run(record: boolean) {
        const group: Group = await manager.conversations.createGroup([])
        // Same fallback as ConvosClient: when the message stream processes the welcome first, the conversation
        // stream never yields it, so the local store is checked every 100 ms as well (and such runs are counted).
        let poll: NodeJS.Timeout | undefined
        const bound = new Promise<"stream" | "local">((resolve) => {
          seen.set(group.id, () => resolve("stream"))
          poll = setInterval(() => {
            void agent.conversations.getConversationById(group.id).then((found) => found && resolve("local"))
          }, 100)
        })
        const start = performance.now()
        await group.addMembers([agent.inboxId])
        const via = await bound
        clearInterval(poll)
        if (record) this.samples.push(performance.now() - start)
        if (via === "local") this.missedByStream++
      },
      async close() {
        await Promise.all(streams.map((s) => s.end()))
        await Promise.all([manager.close(), agent.close()])
      },
    }
  }
  const rawWelcomeOnly = await rawPair(false)
  const rawBothStreams = await rawPair(true)

  const directAdd: number[] = []
  const inviteJoin: number[] = []
  for (let run = 0; run < WARMUP + RUNS; run++) {
    const group = await manager.createConversation({ name: `Direct ${run}`, permissions: "all_members" })
    const bound = agent.expectAdd({ conversationId: group.conversationId, addedBy: manager.inboxId, timeoutMs: 10_000 })
    const startAdd = performance.now()
    await manager.addMembers(group.conversationId, [agent.inboxId])
    await bound
    if (run >= WARMUP) directAdd.push(performance.now() - startAdd)

    await rawWelcomeOnly.run(run >= WARMUP)
    await rawBothStreams.run(run >= WARMUP)

    const invited = await manager.createConversation({ name: `Invite ${run}`, permissions: "all_members" })
    const startJoin = performance.now()
    const result = await joiner.joinByInvite(invited.inviteUrl, { timeoutMs: 10_000 })
    if (result.status !== "joined" || result.conversationId !== invited.conversationId) throw new Error(`run ${run}: ${result.status}`)
    if (run >= WARMUP) inviteJoin.push(performance.now() - startJoin)
  }

  console.log(
    `fake XMTP node on loopback, ${RUNS} runs after ${WARMUP} warm-up, ${process.env.BENCH_DB === "memory" ? "in-memory DBs" : "file DBs with SQLCipher keys"}, load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores`,
  )
  summary("raw SDK floor of (a), welcome stream only", rawWelcomeOnly.samples)
  const raw = summary("raw SDK floor of (a), + message streams", rawBothStreams.samples)
  console.log(
    `  raw welcomes the conversation stream never yielded: ${rawWelcomeOnly.missedByStream} (welcome stream only), ${rawBothStreams.missedByStream} (+ message streams) of ${WARMUP + RUNS}`,
  )
  const a = summary("(a) direct add → added client bound", directAdd)
  const b = summary("(b) invite join → joined (request sent → added)", inviteJoin)
  console.log(`ratio (b)/(a) of p50: ${(b / a).toFixed(2)}; (a) over the raw floor with the same streams: ${(a - raw).toFixed(1)} ms`)
  console.log(`targets: (a) p50 ≤ 40 ms ${a <= 40 ? "met" : "MISSED"}, (b) p50 ≤ 120 ms ${b <= 120 ? "met" : "MISSED"}`)
  await Promise.all([manager.close(), agent.close(), joiner.close(), rawWelcomeOnly.close(), rawBothStreams.close()])
} finally {
  await node.stop()
  await rm(root, { recursive: true, force: true })
}
