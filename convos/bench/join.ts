/**
 * npm run bench:join — on the in-process fake XMTP node, 2 warm-up + 20 measured runs each of
 *  (a) direct add: manager `addMembers` → the added agent's `expectAdd` has bound the group;
 *  (b) invite join: joiner `joinByInvite` called (parse + DM + join request) → `joined`,
 *      with the creator deciding and adding automatically;
 * printing p50 / p90 / p99 / max and the ratio of the p50s.
 */
import { mkdtemp, rm } from "node:fs/promises"
import { cpus, loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { startFakeXmtpNode } from "../../test/xmtp/fakeNode.ts"
import { ConvosClient } from "../client.ts"

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

  const directAdd: number[] = []
  const inviteJoin: number[] = []
  for (let run = 0; run < WARMUP + RUNS; run++) {
    const group = await manager.createConversation({ name: `Direct ${run}`, permissions: "all_members" })
    const bound = agent.expectAdd({ conversationId: group.conversationId, addedBy: manager.inboxId, timeoutMs: 10_000 })
    const startAdd = performance.now()
    await manager.addMembers(group.conversationId, [agent.inboxId])
    await bound
    if (run >= WARMUP) directAdd.push(performance.now() - startAdd)

    const invited = await manager.createConversation({ name: `Invite ${run}`, permissions: "all_members" })
    const startJoin = performance.now()
    const result = await joiner.joinByInvite(invited.inviteUrl, { timeoutMs: 10_000 })
    if (result.status !== "joined" || result.conversationId !== invited.conversationId) throw new Error(`run ${run}: ${result.status}`)
    if (run >= WARMUP) inviteJoin.push(performance.now() - startJoin)
  }

  console.log(
    `fake XMTP node on loopback, ${RUNS} runs after ${WARMUP} warm-up, ${process.env.BENCH_DB === "memory" ? "in-memory DBs" : "file DBs with SQLCipher keys"}, load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores`,
  )
  const a = summary("(a) direct add → added client bound", directAdd)
  const b = summary("(b) invite join → joined (request sent → added)", inviteJoin)
  console.log(`ratio (b)/(a) of p50: ${(b / a).toFixed(2)}`)
  console.log(`targets: (a) p50 ≤ 40 ms ${a <= 40 ? "met" : "MISSED"}, (b) p50 ≤ 120 ms ${b <= 120 ? "met" : "MISSED"}`)
  await Promise.all([manager.close(), agent.close(), joiner.close()])
} finally {
  await node.stop()
  await rm(root, { recursive: true, force: true })
}
