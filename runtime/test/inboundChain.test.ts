/**
 * The whole way of a received email, but the gateway's loopback hop: a signed AgentMail webhook on the pool → the
 * host's slot route (the runtime's own contract server, slot token checked) → the agent's plugin instance → a line in
 * its conversation. Without a model the agent sends the plain line, so what reaches the chat is known exactly.
 */
import { assert, layer } from "@effect/vitest"
import { Duration, Effect, Layer, Option, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { createHmac } from "node:crypto"
import type { Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll } from "vitest"
import { memoryBindingStore } from "../extensions/convos/src/bindingStore.ts"
import { ConvosInstance } from "../extensions/convos/src/instance.ts"
import { testDecoders } from "../extensions/convos/src/testing/decoders.ts"
import { memoryTransport } from "../extensions/convos/src/testing/memoryTransport.ts"
import { startHostServer } from "../src/contractServer.ts"
import { TestDatabaseLayer } from "../../test/db/testDatabase.ts"
import { InboundWebhooks } from "../../pool/src/http/Webhooks.ts"
import { InstanceTokens } from "../../pool/src/InstanceTokens.ts"
import { ToolProxy } from "../../pool/src/resources/ToolProxy.ts"

const secret = "whsec_" + Buffer.from("inbound-chain-test-secret").toString("base64")
const slotId = "chainslot1"
const tokens = InstanceTokens.layerSecret("chain-secret")
const slotToken = Effect.runSync(Effect.map(Effect.service(InstanceTokens), (t) => Redacted.value(t.tokenFor(slotId))).pipe(Effect.provide(tokens)))

const transport = memoryTransport()
const instance = new ConvosInstance({
  transport,
  store: memoryBindingStore(),
  decode: testDecoders,
  modelConfigured: false,
  log: { info: () => {}, warn: () => {}, error: () => {} },
  runTurn: async () => {},
})
let host: Server
let hostUrl = ""
beforeAll(async () => {
  await instance.start()
  await instance.provision({ agentName: "Chef", instructions: "Talk about food.", mode: "create" })
  await instance.idle()
  host = await startHostServer(0, "127.0.0.1", {
    hostToken: "host-token-0123456789abcdef",
    gatewayReady: () => true,
    slotToken: (id) => (id === slotId ? slotToken : undefined),
    hostHealth: async () => { throw new Error("not used") },
    slotHealth: async () => { throw new Error("not used") },
    putSlot: async () => ({ status: 501, body: { error: "not used" } }),
    deleteSlot: async () => ({ status: 501, body: { error: "not used" } }),
    // What the plugin's control route does with it (routes.ts).
    forward: async (_slotId, action, body) => (action === "inbound" ? instance.inbound(body) : { status: 404, body: { error: action } }),
  })
  hostUrl = `http://127.0.0.1:${(host.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((resolve) => host.close(() => resolve())))

const now = 1_800_000_000
const signed = (body: string) => ({
  "svix-id": "msg_chain",
  "svix-timestamp": String(now),
  "svix-signature": `v1,${createHmac("sha256", Buffer.from(secret.slice(6), "base64")).update(`msg_chain.${now}.${body}`).digest("base64")}`,
})

const webhooks = InboundWebhooks.layerWith({
  agentMailSecret: Option.some(Redacted.make(secret)),
  telnyxPublicKey: Option.none(),
  deliveryTimeout: Duration.seconds(5),
  nowSeconds: () => now,
}).pipe(Layer.provide(Layer.mergeAll(tokens, ToolProxy.layerWith({ emailsPerHour: 1, smsPerHour: 1 }))))

layer(Layer.provideMerge(webhooks, TestDatabaseLayer()), { excludeTestServices: true, timeout: "60 seconds" })("inbound mail, pool to chat", (it) => {
  it.effect("a signed AgentMail webhook ends as one line in the agent's conversation naming sender and subject, not the text", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`INSERT INTO instances (id, status, compute_kind, url, token_hash) VALUES (${slotId}, 'claimed', 'local', ${hostUrl}, 'h')`
      yield* sql`INSERT INTO instance_resources (instance_id, tool, resource_id, status) VALUES (${slotId}, 'agentmail', 'inb_chain', 'active')`
      const body = JSON.stringify({
        type: "event",
        event_type: "message.received",
        event_id: "evt_chain",
        message: { inbox_id: "inb_chain", message_id: "<c1@example.com>", from: "ann@example.com", subject: "Dinner on Friday?", text: "The private text" },
      })
      const answer = yield* (yield* InboundWebhooks).handle("agentmail", signed(body), body)
      assert.deepStrictEqual(answer, { status: 200, body: { delivered: true } })
      yield* Effect.promise(() => instance.idle())
      assert.deepStrictEqual(transport.sent.map((m) => m.text), ["An email from ann@example.com about \"Dinner on Friday?\" arrived in my inbox."])
      assert.notInclude(JSON.stringify(transport.sent), "private text")
    }))
})
