/**
 * Greeting latency in a conversation the agent created: a person opens its invite and the greeting reaches them.
 * The plugin's instance with its production transport (convos/ in-process) on the fake XMTP node, and an agent turn
 * that answers at once (the model's own time is not what this measures). Each run is a fresh agent and a fresh
 * person; in half of them the fake node loses the live delivery of the join request (and its plain-slug copy), as
 * XMTP's stream does at times with a new DM's first message (libxmtp#2351): only a read finds it. Before the agent
 * looked for join requests itself, such a join waited for the 15 s catch-up sweep. Prints the figures.
 */
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { performance } from "node:perf_hooks"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type FakeXmtpNode, startFakeXmtpNode } from "../../test/xmtp/fakeNode.ts"
import { memoryBindingStore } from "../extensions/convos/src/bindingStore.ts"
import { ConvosInstance } from "../extensions/convos/src/instance.ts"
import { createConvosTransport } from "../extensions/convos/src/transportConvos.ts"
import { openRecordingUser, REPO_ROOT, waitFor } from "./harness.ts"
import { testDecoders as decode } from "../extensions/convos/src/testing/decoders.ts"

const RUNS = 6
const TARGET_P50_MS = 1_500

let node: FakeXmtpNode
let root: string

beforeAll(async () => {
  node = await startFakeXmtpNode()
  root = await mkdtemp(join(tmpdir(), "runtime-create-greeting-"))
})

afterAll(async () => {
  await node?.stop()
  if (root) await rm(root, { recursive: true, force: true })
})

const p50 = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[Math.ceil(values.length / 2) - 1] ?? NaN

/** One agent creates its conversation; one person opens the invite. Returns ms from opening to the greeting. */
const oneJoin = async (run: number, loseJoinRequest: boolean): Promise<number> => {
  const transport = await createConvosTransport({
    stateDir: join(root, `agent-${run}`),
    xmtpEnv: "local",
    xmtpApiUrl: node.apiUrl,
    convosModulePath: resolve(REPO_ROOT, "convos/index.ts"),
  }, () => import("../../convos/index.ts"))
  const instance = new ConvosInstance({
    transport,
    store: memoryBindingStore(),
    decode,
    modelConfigured: true,
    log: { info: () => {}, warn: (m) => console.warn(m), error: (m) => console.error(m) },
    runTurn: async (request) => request.deliver("Hello, I'm Chef! Ask me anything."),
  })
  const person = await openRecordingUser(join(root, `person-${run}`), node.apiUrl)
  try {
    await instance.start()
    const created = await instance.provision({ agentName: "Chef", instructions: "Be helpful.", mode: "create" })
    expect(created.status).toBe(200)
    const { conversationId, inviteUrl } = created.body as { conversationId: string; inviteUrl: string }
    // The join request and the slug sent after it: both only reachable by a read.
    if (loseJoinRequest) node.dropNextLiveMessages(2)
    const opened = performance.now()
    await person.user.joinByInvite(inviteUrl, { timeoutMs: 60_000, profile: { name: "Alice", isAgent: false } })
    await waitFor("the greeting", () => person.received.find((e) => e.conversationId === conversationId && e.text?.startsWith("Hello, I'm Chef")), 30_000)
    return performance.now() - opened
  } finally {
    await person.user.close()
    await instance.stop()
  }
}

describe("greeting in a created conversation", () => {
  it(`reaches the first member within ${TARGET_P50_MS} ms (p50), also when the live stream lost their join request`, async () => {
    const lost: Array<number> = []
    const delivered: Array<number> = []
    for (let run = 0; run < RUNS; run++) {
      const loseJoinRequest = run % 2 === 0
      ;(loseJoinRequest ? lost : delivered).push(await oneJoin(run, loseJoinRequest))
    }
    const all = [...lost, ...delivered]
    const show = (values: ReadonlyArray<number>) => values.map((v) => v.toFixed(0)).join(", ")
    process.stderr.write(
      `invite opened → greeting received: p50 ${p50(all).toFixed(0)} ms over ${all.length} joins; ` +
        `join request lost by the stream: p50 ${p50(lost).toFixed(0)} ms [${show(lost)}]; delivered: p50 ${p50(delivered).toFixed(0)} ms [${show(delivered)}]\n`,
    )
    expect(p50(lost)).toBeLessThanOrEqual(TARGET_P50_MS)
    expect(p50(all)).toBeLessThanOrEqual(TARGET_P50_MS)
  }, 180_000)
})
