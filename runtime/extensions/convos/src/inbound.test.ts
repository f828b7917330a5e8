import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { createTurnRunner, type InboundRuntime, MAX_TURN_ATTEMPTS, retriesTurn } from "./inbound.ts"

/** A hand-made plugin-runtime fake: records the pipeline calls and replies with scripted blocks. */
const fakeRuntime = (blocks: Array<string | undefined | Record<string, unknown>>) => {
  const calls: Array<{ name: string; args: unknown }> = []
  const runtime = {
    config: { current: () => ({ session: { store: "/tmp/store" } }) },
    channel: {
      routing: {
        resolveAgentRoute: (args: { peer: { id: string } }) => {
          calls.push({ name: "resolveAgentRoute", args })
          return { agentId: "main", sessionKey: `agent:main:convos:group:${args.peer.id}` }
        },
      },
      session: {
        resolveStorePath: (store: string | undefined, opts: unknown) => {
          calls.push({ name: "resolveStorePath", args: { store, opts } })
          return "/tmp/store/sessions"
        },
        recordInboundSession: async (args: unknown) => {
          calls.push({ name: "recordInboundSession", args })
        },
      },
      reply: {
        finalizeInboundContext: (ctx: Record<string, unknown>) => ({ ...ctx, finalized: true }),
        dispatchReplyWithBufferedBlockDispatcher: async (args: { dispatcherOptions: { deliver: (p: Record<string, unknown>) => Promise<void> } }) => {
          calls.push({ name: "dispatch", args })
          for (const block of blocks) await args.dispatcherOptions.deliver(block === undefined ? {} : typeof block === "string" ? { text: block } : block)
          return { queuedFinal: true, counts: {} }
        },
      },
    },
  }
  return { runtime: runtime as unknown as InboundRuntime, calls }
}

const mediaDir = mkdtempSync(join(tmpdir(), "convos-media-"))
afterAll(() => rmSync(mediaDir, { recursive: true, force: true }))

const request = (deliver: (text: string, flags?: unknown) => Promise<void>) => ({
  conversationId: "c".repeat(32),
  messageId: "m1",
  senderInboxId: "1".repeat(64),
  senderName: "Alice",
  text: "hi there",
  systemPrompt: "Your name is Chef.",
  timestamp: 1_000,
  deliver,
})

describe("createTurnRunner", () => {
  it("routes the conversation as a group peer, builds the context with sender and system prompt, records, then dispatches", async () => {
    const { runtime, calls } = fakeRuntime(["Hello Alice"])
    const delivered: Array<string> = []
    await createTurnRunner(runtime, { accountId: "default", mediaDir, onError: () => {} })(request(async (t) => void delivered.push(t)))
    expect(calls.map((c) => c.name)).toEqual(["resolveAgentRoute", "resolveStorePath", "recordInboundSession", "dispatch"])
    expect(calls[0]?.args).toMatchObject({ channel: "convos", accountId: "default", peer: { kind: "group", id: "c".repeat(32) } })
    const recorded = calls[2]?.args as { sessionKey: string; ctx: Record<string, unknown> }
    expect(recorded.sessionKey).toBe(`agent:main:convos:group:${"c".repeat(32)}`)
    expect(recorded.ctx).toMatchObject({
      BodyForAgent: "hi there",
      From: `convos:${"1".repeat(64)}`,
      To: `convos:${"c".repeat(32)}`,
      ChatType: "group",
      SenderName: "Alice",
      SenderId: "1".repeat(64),
      MessageSid: "m1",
      GroupSystemPrompt: "Your name is Chef.",
      Provider: "convos",
      finalized: true,
    })
    expect(delivered).toEqual(["Hello Alice"])
  })

  it("adds the slot's capabilities and memory, read at each turn, after the conversation's system prompt", async () => {
    const { runtime, calls } = fakeRuntime([])
    let memory = "Bob is vegetarian"
    const run = createTurnRunner(runtime, { accountId: "default", mediaDir, onError: () => {}, extraSystemPrompt: () => memory })
    await run(request(async () => {}))
    memory = ""
    await run(request(async () => {}))
    const prompts = calls.filter((c) => c.name === "recordInboundSession").map((c) => (c.args as { ctx: { GroupSystemPrompt: string } }).ctx.GroupSystemPrompt)
    expect(prompts).toEqual(["Your name is Chef.\n\nBob is vegetarian", "Your name is Chef."])
  })

  it("delivers every non-empty reply block and skips empty ones", async () => {
    const { runtime } = fakeRuntime(["one", undefined, "  ", "two"])
    const delivered: Array<string> = []
    await createTurnRunner(runtime, { accountId: "default", mediaDir, onError: () => {} })(request(async (t) => void delivered.push(t)))
    expect(delivered).toEqual(["one", "two"])
  })

  it("hands each block's notice flags to the instance with its text", async () => {
    const { runtime } = fakeRuntime([{ text: "⚠️ Agent couldn't generate a response.", isError: true }, { text: "compacting…", isCompactionNotice: true, channelData: {} }])
    const delivered: Array<[string, unknown]> = []
    await createTurnRunner(runtime, { accountId: "default", mediaDir, onError: () => {} })(request(async (t, flags) => void delivered.push([t, flags])))
    expect(delivered).toEqual([
      ["⚠️ Agent couldn't generate a response.", expect.objectContaining({ isError: true })],
      ["compacting…", expect.objectContaining({ isCompactionNotice: true })],
    ])
  })

  it("writes an inbound image to the media dir and passes its path and type to the agent", async () => {
    const { runtime, calls } = fakeRuntime([])
    const image = { filename: "../cat.png", mimeType: "image/png", data: new Uint8Array([137, 80, 78, 71]) }
    await createTurnRunner(runtime, { accountId: "default", mediaDir, onError: () => {} })({ ...request(async () => {}), image })
    const ctx = (calls[2]?.args as { ctx: { MediaPath: string; MediaType: string } }).ctx
    expect(ctx.MediaType).toBe("image/png")
    expect(ctx.MediaPath.startsWith(mediaDir)).toBe(true)
    expect([...readFileSync(ctx.MediaPath)]).toEqual([137, 80, 78, 71])
  })
})

describe("a turn that a config reload fails", () => {
  type Attempt = "throws" | "error_notice" | "replies" | "says_nothing"
  /** Each dispatch does what its attempt says; `reloadDuring` attempts swap the config snapshot, as a reload does. */
  const reloadingRuntime = (attempts: ReadonlyArray<Attempt>, reloadDuring: ReadonlySet<number>) => {
    let config = { session: { store: "/tmp/store" } }
    const sids: Array<unknown> = []
    const { runtime } = fakeRuntime([])
    const reply = runtime.channel.reply as unknown as Record<string, unknown>
    let n = 0
    reply.dispatchReplyWithBufferedBlockDispatcher = async (args: { ctx: { MessageSid: unknown }; dispatcherOptions: { deliver: (p: Record<string, unknown>) => Promise<void> } }) => {
      const attempt = attempts[n] ?? "replies"
      n++
      sids.push(args.ctx.MessageSid)
      if (reloadDuring.has(n)) config = { ...config }
      if (attempt === "throws") throw new Error("prepared model runtime plugin generation was superseded for /state/slots/s1/agent")
      if (attempt === "error_notice") await args.dispatcherOptions.deliver({ text: "⚠️ Something went wrong while processing your request.", isError: true })
      if (attempt === "replies") await args.dispatcherOptions.deliver({ text: "Hello Alice" })
      return { queuedFinal: true, counts: {} }
    }
    ;(runtime.config as unknown as { current: () => unknown }).current = () => config
    return { runtime, sids }
  }
  const run = async (runtime: InboundRuntime) => {
    const delivered: Array<string> = []
    const errors: Array<string> = []
    const outcome = await createTurnRunner(runtime, { accountId: "s1", mediaDir, onError: (m) => void errors.push(m) })(
      request(async (t) => void delivered.push(t)),
    ).then(() => "done", (error: unknown) => (error as Error).message)
    return { outcome, delivered, errors }
  }

  it("runs again, as a new inbound, when it threw while the config changed, and the message is answered", async () => {
    const { runtime, sids } = reloadingRuntime(["throws", "replies"], new Set([1]))
    const { outcome, delivered, errors } = await run(runtime)
    expect({ outcome, delivered, sids }).toEqual({ outcome: "done", delivered: ["Hello Alice"], sids: ["m1", "m1-attempt2"] })
    expect(errors).toEqual([expect.stringContaining("failed while the config changed (prepared model runtime plugin generation was superseded")])
  })

  it("runs again when only OpenClaw's error notice came out while the config changed", async () => {
    const { runtime, sids } = reloadingRuntime(["error_notice", "replies"], new Set([1]))
    const { delivered } = await run(runtime)
    expect(sids).toHaveLength(2)
    expect(delivered.at(-1)).toBe("Hello Alice")
  })

  it("does not run again when the config did not change, when it answered, or when it said nothing", async () => {
    const unchanged = reloadingRuntime(["throws", "replies"], new Set())
    expect((await run(unchanged.runtime)).outcome).toBe("prepared model runtime plugin generation was superseded for /state/slots/s1/agent")
    expect(unchanged.sids).toHaveLength(1)
    const answered = reloadingRuntime(["replies", "replies"], new Set([1]))
    await run(answered.runtime)
    expect(answered.sids).toHaveLength(1)
    const silent = reloadingRuntime(["says_nothing", "replies"], new Set([1]))
    await run(silent.runtime)
    expect(silent.sids).toHaveLength(1)
  })

  it(`gives up after ${MAX_TURN_ATTEMPTS} attempts, with the last error`, async () => {
    const { runtime, sids } = reloadingRuntime(["throws", "throws", "throws", "replies"], new Set([1, 2, 3]))
    expect((await run(runtime)).outcome).toContain("was superseded")
    expect(sids).toHaveLength(MAX_TURN_ATTEMPTS)
    expect(retriesTurn({ number: MAX_TURN_ATTEMPTS, outcome: "failed", configChanged: true })).toBe(false)
  })
})
