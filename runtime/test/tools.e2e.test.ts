/**
 * End to end with the real OpenClaw gateway and the real pool's tool routes: a slot whose pool gave it an email
 * inbox (on a fake AgentMail) is added to a group; a member asks it to email someone; the model calls `email_send`;
 * the plugin asks the supervisor under that slot, which forwards to the pool with the slot's own token and id; the pool
 * sends from that slot's inbox; the agent answers in the chat. The gateway itself never holds the slot's token.
 * One runtime host (one gateway) for the file.
 */
import { mkdtemp, rm } from "node:fs/promises"
import { readFileSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Layer, ManagedRuntime, Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { ConvosClient, ConvosMessageEvent } from "../../convos/index.ts"
import { Instances } from "../../pool/src/db/Instances.ts"
import { InstanceTokens } from "../../pool/src/InstanceTokens.ts"
import { Pool } from "../../pool/src/Pool.ts"
import { AgentMail } from "../../pool/src/resources/AgentMail.ts"
import { TestDatabaseLayer } from "../../test/db/testDatabase.ts"
import { type FakeAgentMail, startFakeAgentMail } from "../../test/fakes/agentmail.ts"
import { type FakeModel, type FakeModelScript, startFakeModel } from "../../test/fakes/fakeModel.ts"
import { baseUrl, serveApi } from "../../pool/test/support/httpHarness.ts"
import { fakeAgentMailLayer, makeDataDir, poolLayer } from "../../pool/test/support/poolHarness.ts"
import { waitFor as waitForEffect } from "../../test/waitFor.ts"
import { type FakeXmtpNode, startFakeXmtpNode } from "../../test/xmtp/fakeNode.ts"
import { agentScript } from "./agentScript.ts"
import { fakeNetworkEnv, logPath, openRecordingUser, type RuntimeHost, slotSpecFor, startRuntimeHost, textsFrom, waitFor } from "./harness.ts"

const READY_TIMEOUT = 240_000
const masterKey = "am-master-key-for-runtime-tools-e2e"
const email = { to: "bob@example.com", subject: "Trip", text: "The trip to Lisbon is on for Friday." }

/** Warm-up, greeting and PING as usual; "EMAIL-BOB" → an email_send call, then a reply that depends on its result. */
const emailScript: FakeModelScript = (request) => {
  const result = request.toolResults.at(-1)?.content
  if (result !== undefined) return result.startsWith("Email sent") ? "Done, I emailed Bob." : `The email failed: ${result}`
  if (request.userText.includes("EMAIL-BOB")) return { toolCalls: [{ name: "email_send", arguments: email }] }
  return agentScript(request)
}

interface PoolCall {
  readonly method: string
  readonly url: string
  readonly authorization: string | undefined
  readonly instanceId: string | undefined
  readonly body: string
  status?: number
}

/** Sits between the instance and the pool and records what the instance sent (the pool keeps no such record). */
const startRecordingProxy = async (target: string) => {
  const calls: Array<PoolCall> = []
  const server: Server = createServer((req, res) => {
    const parts: Array<Buffer> = []
    req.on("data", (part: Buffer) => parts.push(part))
    req.on("end", () => {
      const call: PoolCall = {
        method: req.method ?? "",
        url: req.url ?? "",
        authorization: req.headers.authorization,
        instanceId: req.headers["x-instance-id"] as string | undefined,
        body: Buffer.concat(parts).toString("utf8"),
      }
      calls.push(call)
      const headers: Record<string, string> = {}
      for (const name of ["authorization", "x-instance-id", "content-type"]) {
        const value = req.headers[name]
        if (typeof value === "string") headers[name] = value
      }
      fetch(`${target}${call.url}`, { method: call.method, headers, ...(call.body === "" ? {} : { body: call.body }) })
        .then(async (response) => {
          call.status = response.status
          res.writeHead(response.status, { "content-type": response.headers.get("content-type") ?? "application/json" })
          res.end(await response.text())
        })
        .catch(() => {
          res.writeHead(502)
          res.end()
        })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

let root: string
let dataDir: ReturnType<typeof makeDataDir>
let node: FakeXmtpNode
let model: FakeModel
let agentMail: FakeAgentMail
let stopPool: (() => Promise<void>) | undefined
let proxy: Awaited<ReturnType<typeof startRecordingProxy>>
let issued: { instanceId: string; token: string; inboxId: string }
let host: RuntimeHost
let user: ConvosClient
let agentInbox: string
let received: Array<ConvosMessageEvent>

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "runtime-tools-e2e-"))
  dataDir = makeDataDir()
  node = await startFakeXmtpNode()
  model = await startFakeModel(emailScript)
  agentMail = await startFakeAgentMail({ apiKey: masterKey })

  // The real pool (PostgreSQL, its HTTP API) warms one instance, which gets an inbox on the fake AgentMail. Its
  // compute is the test instance server; the real runtime below plays that instance with the id and token it got.
  const agentMailLayer = fakeAgentMailLayer(agentMail.apiUrl, masterKey)
  const agentMailTool = await Effect.runPromise(Effect.provide(AgentMail, agentMailLayer))
  const pool = ManagedRuntime.make(
    serveApi(poolLayer({ dataDir: dataDir.dir, tools: [agentMailTool.tool], toolServices: agentMailLayer }).pipe(Layer.provide(TestDatabaseLayer()))),
  )
  stopPool = () => pool.dispose()
  const warmed = await pool.runPromise(
    Effect.gen(function*() {
      const [instanceId] = yield* (yield* Pool).replenish(1)
      if (instanceId === undefined) return yield* Effect.die(new Error("the pool warmed no instance"))
      yield* waitForEffect("the instance to be idle", Effect.map((yield* Pool).counts, (c) => (c.idle === 1 ? true : undefined)), "60 seconds")
      const resources = yield* (yield* Instances).resourcesOf(instanceId)
      const inboxId = resources.find((r) => r.tool === "agentmail" && r.status === "active")?.resource_id
      if (!inboxId) return yield* Effect.die(new Error("the instance got no inbox"))
      return { instanceId, token: Redacted.value((yield* InstanceTokens).tokenFor(instanceId)), inboxId, url: yield* baseUrl }
    }),
  )
  issued = warmed
  proxy = await startRecordingProxy(warmed.url)

  // The pool's instance id and token become a slot of a host of capacity 1.
  host = await startRuntimeHost({ stateDir: join(root, "host"), logFile: logPath(root, "runtime"), capacity: 1, env: { ...fakeNetworkEnv(node), POOL_URL: proxy.url } })
  await waitFor("the host to listen", () => host.health().then(() => true, () => undefined), 60_000)
  const put = await host.putSlot(issued.instanceId, { ...slotSpecFor(model, issued.instanceId, { AGENTMAIL_INBOX_ID: issued.inboxId }), token: issued.token })
  if (put.status !== 200) throw new Error(`PUT slot: ${JSON.stringify(put.body)}`)
  await host.waitSlotsReady([issued.instanceId], READY_TIMEOUT)
  agentInbox = (await host.health()).slots[0]?.inboxId ?? ""
  const person = await openRecordingUser(join(root, "user"), node.apiUrl)
  user = person.user
  received = person.received
}, READY_TIMEOUT + 90_000)

afterAll(async () => {
  await user?.close()
  await host?.stop()
  await proxy?.stop()
  await stopPool?.()
  dataDir?.cleanup()
  await agentMail?.close()
  await model?.stop()
  await node?.stop()
  if (process.env.KEEP_E2E_LOGS === undefined) await rm(root, { recursive: true, force: true })
}, 60_000)

const fromAgent = (conversationId: string) => textsFrom(received, conversationId, agentInbox)

const toolNamesOffered = (index: number): Array<string> => {
  const tools = model.requests[index]?.body.tools
  return Array.isArray(tools) ? tools.map((tool: { function?: { name?: string } }) => tool.function?.name ?? "") : []
}

describe("a slot with an email inbox", () => {
  it("emails someone when asked in the group, through the pool with its own token, and says so in the chat", async () => {
    const group = await user.createConversation({ name: "Trip", permissions: "all_members", profile: { name: "Alice", isAgent: false } })
    const conversationId = group.conversationId
    expect(await host.slot(issued.instanceId).provision({ agentName: "Trip Planner", instructions: "Plan trips.", mode: "add", conversationId, addedBy: user.inboxId, skills: ["email", "sms"] })).toEqual({
      status: 200,
      body: { status: "added", conversationId, inviteUrl: null },
    })
    await user.addMembers(conversationId, [agentInbox])
    await waitFor("the greeting", () => fromAgent(conversationId).find((e) => e.text?.includes("Trip Planner")), 60_000)

    await user.sendText(conversationId, "Trip Planner, please tell bob@example.com that the trip is on (EMAIL-BOB)")
    const reply = await waitFor("the reply after the email", () => fromAgent(conversationId).find((e) => e.text?.includes("email")), 90_000)
    expect(reply.text).toBe("Done, I emailed Bob.")

    // The model was offered the email tools (inbox only: no SMS tool) and no shell or file tools.
    const asked = model.requests.findIndex((r) => r.userText.includes("EMAIL-BOB") && r.toolResults.length === 0)
    expect(toolNamesOffered(asked)).toEqual(expect.arrayContaining(["email_send", "email_inbox", "email_read"]))
    expect(toolNamesOffered(asked)).not.toEqual(expect.arrayContaining(["sms_send"]))
    for (const forbidden of ["exec", "read", "write", "edit", "process"]) expect(toolNamesOffered(asked)).not.toContain(forbidden)

    // The pool got exactly that one send, as this instance, and sent it from this instance's inbox.
    expect(proxy.calls.filter((c) => c.url.startsWith("/api/tools/"))).toEqual([
      {
        method: "POST",
        url: "/api/tools/email/send",
        authorization: `Bearer ${issued.token}`,
        instanceId: issued.instanceId,
        body: JSON.stringify(email),
        status: 200,
      },
    ])
    const sent = [...agentMail.inboxes.values()].flatMap((inbox) => inbox.messages.map((message) => ({ inbox: inbox.inboxId, message })))
    expect(sent).toHaveLength(1)
    // AgentMail sends from the inbox's address (its `email`, apart from its id).
    const address = agentMail.inboxes.get(issued.inboxId)?.email
    expect(sent[0]).toMatchObject({ inbox: issued.inboxId, message: { from: address, to: [email.to], subject: email.subject, text: email.text } })
  }, 180_000)

  it("runs the gateway without the slot token, the host token or the pool URL in its environment or config", () => {
    const gatewayPid = host.gatewayPid()
    expect(gatewayPid).toBeDefined()
    const environ = readFileSync(`/proc/${gatewayPid}/environ`, "utf8").split("\0")
    const config = readFileSync(join(root, "host", "openclaw", "openclaw.json"), "utf8")
    for (const secret of [issued.token, host.hostToken, proxy.url]) expect(environ.join("\n") + config).not.toContain(secret)
    expect(environ.some((entry) => entry.startsWith("HOST_TOKEN=") || entry.startsWith("POOL_URL="))).toBe(false)
    // The slot's inbox is its account's tool variable in the config, not a process-wide variable.
    expect(environ.some((entry) => entry.startsWith("AGENTMAIL_"))).toBe(false)
    expect(config).toContain(issued.inboxId)
    expect(environ.find((entry) => entry.startsWith("CONVOS_TOOLS_URL="))).toMatch(/^CONVOS_TOOLS_URL=http:\/\/127\.0\.0\.1:\d+$/)
  })
})
