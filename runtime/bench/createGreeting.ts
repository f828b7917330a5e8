/**
 * `node --import tsx runtime/bench/createGreeting.ts`: the greeting in a conversation the agent created, with the real
 * runtime (supervisor + OpenClaw gateway + convos plugin), the fake model and the fake XMTP node. Per run (one fresh
 * instance each, one gateway at a time): provision `create`, a person opens the invite; measured from opening the
 * invite to the greeting reaching them. BENCH_LOSE=1 (default) makes the fake node lose the live delivery of the join
 * request and its slug copy, as XMTP's stream does at times with a new DM's first message; BENCH_LOSE=0 does not.
 * Prints each run and the p50 (target ≤ 1.5 s).
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { startFakeModel } from "../../test/fakes/fakeModel.ts"
import { startFakeXmtpNode } from "../../test/xmtp/fakeNode.ts"
import { agentScript } from "../test/agentScript.ts"
import { fakeNetworkEnv, newSlotId, openRecordingUser, RUNTIME_READY_TIMEOUT, slotSpecFor, startRuntimeHost, waitFor } from "../test/harness.ts"

const RUNS = Number(process.env.BENCH_RUNS ?? "3")
const LOSE = process.env.BENCH_LOSE !== "0"
const log = (message: string) => console.error(`[bench] ${message}`)

const root = mkdtempSync(join(tmpdir(), "bench-create-greeting-"))
const node = await startFakeXmtpNode()
const model = await startFakeModel(agentScript)
const samples: Array<number> = []
try {
  for (let run = 0; run < RUNS; run++) {
    const host = await startRuntimeHost({
      stateDir: join(root, `host-${run}`),
      logFile: join(root, `host-${run}.log`),
      capacity: 1,
      env: fakeNetworkEnv(node),
    })
    const slotId = newSlotId()
    const person = await openRecordingUser(join(root, `person-${run}`), node.apiUrl)
    try {
      await waitFor("the host to listen", () => host.health().then(() => true, () => undefined), 60_000)
      await host.putSlot(slotId, slotSpecFor(model, slotId))
      await host.waitSlotsReady([slotId], RUNTIME_READY_TIMEOUT)
      const agentInbox = (await host.slot(slotId).health()).body.inboxId
      const provisioned = await host.slot(slotId).provision({ agentName: "Chef", instructions: "Be helpful.", mode: "create" })
      const { conversationId, inviteUrl } = provisioned.body as { conversationId: string; inviteUrl: string }
      if (LOSE) node.dropNextLiveMessages(2)
      const opened = performance.now()
      await person.user.joinByInvite(inviteUrl, { timeoutMs: 60_000, profile: { name: "Alice", isAgent: false } })
      const joined = performance.now() - opened
      await waitFor("the greeting", () => person.received.find((e) => e.conversationId === conversationId && e.senderInboxId === agentInbox && e.kind === "text"), 60_000)
      const greeted = performance.now() - opened
      samples.push(greeted)
      log(`run ${run}: invite opened → joined ${joined.toFixed(0)} ms → greeting ${greeted.toFixed(0)} ms`)
    } finally {
      await person.user.close()
      await host.stop()
    }
  }
} finally {
  await model.stop()
  await node.stop()
  rmSync(root, { recursive: true, force: true })
}
const sorted = [...samples].sort((a, b) => a - b)
const p50 = sorted[Math.ceil(sorted.length / 2) - 1] ?? NaN
console.log(`create → greeting (join request ${LOSE ? "lost by the live stream" : "delivered"}): p50 ${p50.toFixed(0)} ms over ${samples.length} joins [${samples.map((s) => s.toFixed(0)).join(", ")}]; target ≤ 1500 ms ${p50 <= 1_500 ? "✓" : "✗"}`)
