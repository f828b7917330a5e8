/**
 * "Add to my conversation" end to end: a person's Convos client on the fake XMTP node creates a conversation and
 * pastes its real invite link into the template page in Chromium; the pool hands the page's claim to a real agent
 * runtime (OpenClaw gateway + convos plugin, the fake model), which asks to join; the person's client accepts, and
 * sees the agent in the group and its greeting. Slow: one gateway start.
 */
import { ConfigProvider, Effect, Layer, ManagedRuntime } from "effect"
import { HttpServer } from "effect/http"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { chromium, type Browser } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ConvosClient, type ConvosMessageEvent } from "../../convos/index.ts"
import { agentModel, READY_TIMEOUT, runtimePoolLayer } from "../../manager-agent/test/support/runtimeProduct.ts"
import { waitFor } from "../../manager-agent/test/support/xmtpWorld.ts"
import { TestDatabaseLayer } from "../../test/db/testDatabase.ts"
import { startFakeModel, type FakeModel } from "../../test/fakes/fakeModel.ts"
import { testApiKey } from "./support/httpHarness.ts"
import { killHostProcesses } from "./support/poolHarness.ts"
import { startFakeXmtpNode, type FakeXmtpNode } from "../../test/xmtp/fakeNode.ts"
import { HttpServerLayer } from "../src/http/Server.ts"
import { Pool } from "../src/Pool.ts"
import { Reconciler } from "../src/Reconciler.ts"
import { ToolProxy } from "../src/resources/ToolProxy.ts"

let root: string
let node: FakeXmtpNode
let model: FakeModel
let runtime: ManagedRuntime.ManagedRuntime<Pool | HttpServer.HttpServer, unknown>
let browser: Browser
let person: ConvosClient
let base: string

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "web-e2e-"))
  node = await startFakeXmtpNode()
  model = await startFakeModel(agentModel)
  runtime = ManagedRuntime.make(
    HttpServerLayer({ port: 0 }).pipe(
      Layer.provideMerge(Reconciler.loop.pipe(Layer.provideMerge(runtimePoolLayer(root, node, model)))),
      // The API's tool routes need it; no agent here has email or SMS.
      Layer.provideMerge(ToolProxy.layerWith({ emailsPerHour: 0, smsPerHour: 0 })),
      Layer.provide(TestDatabaseLayer({ maxConnections: 6 })),
      Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ POOL_API_KEY: testApiKey }))),
    ),
  ) as ManagedRuntime.ManagedRuntime<Pool | HttpServer.HttpServer, unknown>
  base = await runtime.runPromise(Effect.map(HttpServer.HttpServer, (server) =>
    server.address._tag === "UnixPathAddress" ? "" : `http://127.0.0.1:${server.address.port}`))
  person = await ConvosClient.open({
    stateDir: join(root, "person"),
    env: "local",
    apiUrl: node.apiUrl,
    encryptionKey: "",
    dbPath: null,
  })
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium" })
  // A warm pool: the one agent is idle (gateway up, first model turn paid) before the person opens the page.
  await waitFor(
    () => runtime.runPromise(Effect.map(Effect.flatMap(Pool, (pool) => pool.counts), (c) => c.idle >= 1 || undefined)),
    "an idle agent runtime",
    READY_TIMEOUT,
  )
}, READY_TIMEOUT + 60_000)

afterAll(async () => {
  await browser?.close()
  await person?.close()
  await runtime?.dispose()
  killHostProcesses(join(root, "pool"))
  await model?.stop()
  await node?.stop()
  rmSync(root, { recursive: true, force: true })
})

describe("the web page with a real agent", () => {
  it("a pasted invite link brings the template's agent into the person's conversation, and it greets the group", async () => {
    const messages: Array<ConvosMessageEvent> = []
    person.onMessage((m) => {
      messages.push(m)
    })
    const created = await person.createConversation({ name: "Dinner club", permissions: "all_members" })

    const page = await browser.newPage()
    const problems: Array<string> = []
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(m.text())
    })
    await page.goto(`${base}/a/chef`)
    await page.fill("#add input[name=joinUrl]", created.inviteUrl)
    await page.click("#add button[type=submit]")
    await page.waitForSelector("#add .outcome[data-state]:not([data-state=''])", { timeout: 120_000 })
    const outcome = await page.textContent("#add .outcome")
    // Joined at once, or asked to join and waiting for the creator's app (here the person's client accepts at once).
    expect(outcome).toMatch(/^Chef (joined your conversation|asked to join)/)
    await page.close()
    expect(problems).toEqual([])

    const greeting = await waitFor(
      () => messages.find((m) => m.conversationId === created.conversationId && m.kind === "text" && m.senderInboxId !== person.inboxId),
      "the agent's greeting in the person's conversation",
      120_000,
    )
    expect(greeting.text).toBe("Hello everyone, I'm Chef! Ask me anything.")
    const members = (await person.groupInfo(created.conversationId)).members.map((m) => m.inboxId)
    expect(members).toContain(greeting.senderInboxId)
  }, 300_000)
})
