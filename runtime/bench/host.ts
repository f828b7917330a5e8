/**
 * Host density figures (`node --import tsx runtime/bench/host.ts`), on this machine, all on loopback with the fake
 * model and fake XMTP node. One host at a time, of BENCH_SLOTS slots (default 8):
 *
 *   cold start → all slots ready: spawn → every slot ready in `GET /host/health` (PUTs sent as soon as it listens);
 *   idle RSS of the host's whole process tree, BENCH_SETTLE_MS after ready (default 10 s);
 *   hot-add: DELETE one slot, then PUT a fresh one → ready (the pool's refill), BENCH_ADDS times (default 3).
 *
 * Prints one JSON line per host and a summary. `runHostBench` is exported for other benches (density).
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type FakeModel, startFakeModel } from "../../test/fakes/fakeModel.ts"
import { startFakeXmtpNode } from "../../test/xmtp/fakeNode.ts"
import { agentScript } from "../test/agentScript.ts"
import { fakeNetworkEnv, newSlotId, slotSpecFor, startRuntimeHost, waitFor } from "../test/harness.ts"

const READY_TIMEOUT_MS = 600_000
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
const mb = (bytes: number) => Math.round(bytes / 1024 / 1024)

export interface HostBenchResult {
  readonly slots: number
  readonly coldStartMs: number
  readonly idleRssMb: number
  readonly hotAddMs: ReadonlyArray<number>
  readonly deleteMs: ReadonlyArray<number>
}

export const runHostBench = async (options: {
  readonly root: string
  readonly node: { readonly apiUrl: string }
  readonly model: FakeModel
  readonly slots: number
  readonly settleMs: number
  readonly adds: number
}): Promise<HostBenchResult> => {
  const started = Date.now()
  const host = await startRuntimeHost({
    stateDir: join(options.root, `host-${options.slots}`),
    logFile: join(options.root, `host-${options.slots}.log`),
    capacity: options.slots,
    env: { ...fakeNetworkEnv(options.node), RUNTIME_GATEWAY_START_TIMEOUT_MS: String(READY_TIMEOUT_MS) },
  })
  try {
    await waitFor("the host to listen", () => host.health().then(() => true, () => undefined), READY_TIMEOUT_MS)
    const slotIds = Array.from({ length: options.slots }, newSlotId)
    for (const slotId of slotIds) await host.putSlot(slotId, slotSpecFor(options.model, slotId))
    await host.waitSlotsReady(slotIds, READY_TIMEOUT_MS)
    const coldStartMs = Date.now() - started
    await sleep(options.settleMs)
    const idleRssMb = mb(host.rssBytes())
    const hotAddMs: Array<number> = []
    const deleteMs: Array<number> = []
    for (let i = 0; i < options.adds; i++) {
      const gone = slotIds.shift() ?? ""
      const deleting = Date.now()
      await host.deleteSlot(gone)
      deleteMs.push(Date.now() - deleting)
      const fresh = newSlotId()
      const adding = Date.now()
      await host.putSlot(fresh, slotSpecFor(options.model, fresh))
      await host.waitSlotsReady([fresh], READY_TIMEOUT_MS)
      hotAddMs.push(Date.now() - adding)
      slotIds.push(fresh)
    }
    return { slots: options.slots, coldStartMs, idleRssMb, hotAddMs, deleteMs }
  } finally {
    await host.stop()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const counts = (process.env.BENCH_SLOTS ?? "1,8").split(",").map(Number)
  const root = mkdtempSync(join(tmpdir(), "bench-host-"))
  const model = await startFakeModel(agentScript)
  const node = await startFakeXmtpNode()
  try {
    for (const slots of counts) {
      const result = await runHostBench({ root, node, model, slots, settleMs: Number(process.env.BENCH_SETTLE_MS ?? "10000"), adds: Number(process.env.BENCH_ADDS ?? "3") })
      console.log(JSON.stringify(result))
    }
  } finally {
    await model.stop()
    await node.stop()
    rmSync(root, { recursive: true, force: true })
  }
  process.exit(0)
}
