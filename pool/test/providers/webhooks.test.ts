import { assert, describe, it, layer } from "@effect/vitest"
import { Duration, Effect, Layer, Option, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { createHmac, generateKeyPairSync, sign } from "node:crypto"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, beforeEach } from "vitest"
import { TestDatabaseLayer } from "../../../test/db/testDatabase.ts"
import { InboundWebhooks } from "../../src/http/Webhooks.ts"
import { InstanceTokens } from "../../src/InstanceTokens.ts"
import { ToolProxy } from "../../src/resources/ToolProxy.ts"
import { agentMailAction, telnyxAction, verifyAgentMail, verifyTelnyx } from "../../src/resources/webhooks.ts"

// Svix's published test vector (docs.svix.com, also used in AgentMail's verification docs).
const svix = {
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  headers: { "svix-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "svix-timestamp": "1614265330", "svix-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" },
  body: "{\"test\": 2432232314}",
  now: 1614265330,
}

const telnyxKeys = generateKeyPairSync("ed25519")
const telnyxPublicKey = (telnyxKeys.publicKey.export({ format: "der", type: "spki" }) as Buffer).subarray(12).toString("base64")
const telnyxHeaders = (body: string, timestamp: number, key = telnyxKeys.privateKey) => ({
  "telnyx-timestamp": String(timestamp),
  "telnyx-signature-ed25519": sign(null, Buffer.from(`${timestamp}|${body}`), key).toString("base64"),
})
const agentMailHeaders = (body: string, timestamp: number, secret = svix.secret) => ({
  "svix-id": "msg_1",
  "svix-timestamp": String(timestamp),
  "svix-signature": `v1,${createHmac("sha256", Buffer.from(secret.slice(6), "base64")).update(`msg_1.${timestamp}.${body}`).digest("base64")}`,
})

describe("webhook verification (pure)", () => {
  it("AgentMail (Svix): the published vector verifies; a changed body, a wrong secret or an old timestamp does not", () => {
    assert.deepStrictEqual(verifyAgentMail(svix.secret, svix.headers, svix.body, svix.now), { ok: true })
    assert.isFalse(verifyAgentMail(svix.secret, svix.headers, svix.body.replace("2432", "9999"), svix.now).ok)
    assert.isFalse(verifyAgentMail("whsec_" + Buffer.from("another secret").toString("base64"), svix.headers, svix.body, svix.now).ok)
    assert.deepStrictEqual(verifyAgentMail(svix.secret, svix.headers, svix.body, svix.now + 301), { ok: false, reason: "timestamp too old or too new" })
    assert.isFalse(verifyAgentMail(svix.secret, { ...svix.headers, "svix-signature": undefined }, svix.body, svix.now).ok)
  })

  it("Telnyx (Ed25519): a body signed with the account's key verifies; another key, a changed body or an old timestamp does not", () => {
    const body = "{\"data\":{}}"
    assert.deepStrictEqual(verifyTelnyx(telnyxPublicKey, telnyxHeaders(body, 1_000), body, 1_000), { ok: true })
    assert.isFalse(verifyTelnyx(telnyxPublicKey, telnyxHeaders(body, 1_000, generateKeyPairSync("ed25519").privateKey), body, 1_000).ok)
    assert.isFalse(verifyTelnyx(telnyxPublicKey, telnyxHeaders(body, 1_000), body + " ", 1_000).ok)
    assert.isFalse(verifyTelnyx(telnyxPublicKey, telnyxHeaders(body, 1_000), body, 1_400).ok)
    assert.isFalse(verifyTelnyx("not-a-key", telnyxHeaders(body, 1_000), body, 1_000).ok)
  })

  it("events become notices: received mail and texts for their inbox or number, our failed texts for the sending number; others are ignored", () => {
    assert.deepStrictEqual(
      agentMailAction({ event_type: "message.received", message: { inbox_id: "inb_1", from: "Ann <ann@example.com>", subject: "Lunch", message_id: "<m1@x>", text: "secret" } }),
      { kind: "deliver", tool: "agentmail", resourceId: "inb_1", notice: { kind: "email", from: "Ann <ann@example.com>", subject: "Lunch", messageId: "<m1@x>" } },
    )
    assert.deepStrictEqual(agentMailAction({ event_type: "message.sent", message: {} }).kind, "ignore")
    assert.deepStrictEqual(agentMailAction({ nothing: true }).kind, "invalid")
    const received = { data: { event_type: "message.received", payload: { direction: "inbound", from: { phone_number: "+15551112222" }, to: [{ phone_number: "+15550001111" }], text: "hi" } } }
    assert.deepStrictEqual(telnyxAction(received), {
      kind: "deliver", tool: "telnyx", resourceId: "+15550001111", notice: { kind: "sms", from: "+15551112222", text: "hi" },
    })
    const failed = { data: { event_type: "message.finalized", payload: { direction: "outbound", from: { phone_number: "+15550001111" }, to: [{ phone_number: "+15553334444", status: "delivery_failed" }], errors: [{ code: "40010", title: "Not 10DLC registered", detail: "Number not registered with a campaign" }] } } }
    assert.deepStrictEqual(telnyxAction(failed), {
      kind: "deliver", tool: "telnyx", resourceId: "+15550001111",
      notice: { kind: "sms_failed", to: "+15553334444", reason: "Number not registered with a campaign" },
    })
    const delivered = { data: { event_type: "message.finalized", payload: { ...failed.data.payload, to: [{ phone_number: "+15553334444", status: "delivered" }] } } }
    assert.strictEqual(telnyxAction(delivered).kind, "ignore")
  })
})

/** A host that records what its slots are told, checking each slot's token. */
interface FakeHost {
  readonly url: string
  readonly received: Array<{ slotId: string; body: unknown }>
  failNext: boolean
  close(): Promise<void>
}
const tokens = InstanceTokens.layerSecret("webhook-test-secret")
const tokenOf = (slotId: string) =>
  Effect.runSync(Effect.map(Effect.service(InstanceTokens), (t) => Redacted.value(t.tokenFor(slotId))).pipe(Effect.provide(tokens)))

let host: FakeHost
beforeAll(async () => {
  const received: Array<{ slotId: string; body: unknown }> = []
  const server: Server = createServer((request, response) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => {
      const slotId = /^\/slots\/([a-z0-9]+)\/inbound$/.exec(request.url ?? "")?.[1]
      response.setHeader("content-type", "application/json")
      if (slotId === undefined) return response.writeHead(404).end(JSON.stringify({ error: "no route" }))
      if (request.headers.authorization !== `Bearer ${tokenOf(slotId)}`) return response.writeHead(401).end(JSON.stringify({ error: "wrong token" }))
      if (host.failNext) {
        host.failNext = false
        return response.writeHead(503).end(JSON.stringify({ error: "gateway restarting" }))
      }
      received.push({ slotId, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) })
      response.writeHead(200).end(JSON.stringify({ delivered: true }))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  host = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    failNext: false,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
})
afterAll(() => host.close())
beforeEach(() => {
  host.received.length = 0
  host.failNext = false
})

const now = 1_800_000_000
const webhooks = InboundWebhooks.layerWith({
  agentMailSecret: Option.some(Redacted.make(svix.secret)),
  telnyxPublicKey: Option.some(telnyxPublicKey),
  deliveryTimeout: Duration.seconds(5),
  nowSeconds: () => now,
}).pipe(Layer.provide(Layer.mergeAll(tokens, ToolProxy.layerWith({ emailsPerHour: 1, smsPerHour: 1 }))))

/** Agents `mailagent1` (inbox inb_mail, in a conversation), `smsagent1` (number, in a conversation), `idleagent1` (idle). */
const seed = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`DELETE FROM instance_resources`
  yield* sql`DELETE FROM instances`
  for (const [id, status] of [["mailagent1", "claimed"], ["smsagent1", "claimed"], ["idleagent1", "idle"]] as const) {
    yield* sql`INSERT INTO instances (id, status, compute_kind, url, token_hash) VALUES (${id}, ${status}, 'local', ${host.url}, 'h')`
  }
  yield* sql`INSERT INTO instance_resources (instance_id, tool, resource_id, status) VALUES
    ('mailagent1', 'agentmail', 'inb_mail', 'active'), ('smsagent1', 'telnyx', '+15550001111', 'active'),
    ('idleagent1', 'agentmail', 'inb_idle', 'active')`
}).pipe(Effect.orDie)

const mailEvent = (inboxId: string) =>
  JSON.stringify({ type: "event", event_type: "message.received", event_id: "evt_1", message: { inbox_id: inboxId, message_id: "<m1@example.com>", from: "ann@example.com", subject: "Dinner on Friday?", text: "The full private text" } })

layer(Layer.provideMerge(webhooks, TestDatabaseLayer()), { excludeTestServices: true, timeout: "60 seconds" })("inbound webhooks to the owning agent", (it) => {
  it.effect("verified mail for an agent's inbox reaches that agent as sender, subject and message id, never the text", () =>
    Effect.gen(function*() {
      yield* seed
      const hooks = yield* InboundWebhooks
      const body = mailEvent("inb_mail")
      const answer = yield* hooks.handle("agentmail", agentMailHeaders(body, now), body)
      assert.deepStrictEqual(answer, { status: 200, body: { delivered: true } })
      assert.deepStrictEqual(host.received, [{
        slotId: "mailagent1",
        body: { kind: "email", from: "ann@example.com", subject: "Dinner on Friday?", messageId: "<m1@example.com>" },
      }])
      assert.notInclude(JSON.stringify(host.received), "full private text")
    }))

  it.effect("unverifiable, malformed or unknown-recipient webhooks are 4xx and tell no agent", () =>
    Effect.gen(function*() {
      yield* seed
      const hooks = yield* InboundWebhooks
      const body = mailEvent("inb_mail")
      const forged = yield* hooks.handle("agentmail", agentMailHeaders(body, now, "whsec_" + Buffer.from("guess").toString("base64")), body)
      assert.strictEqual(forged.status, 401)
      const replayed = yield* hooks.handle("agentmail", agentMailHeaders(body, now - 3_600), body)
      assert.strictEqual(replayed.status, 401)
      const unsigned = yield* hooks.handle("telnyx", {}, "{}")
      assert.strictEqual(unsigned.status, 401)
      const notJson = "not json"
      assert.strictEqual((yield* hooks.handle("agentmail", agentMailHeaders(notJson, now), notJson)).status, 400)
      const stranger = mailEvent("inb_nobody")
      assert.deepStrictEqual(yield* hooks.handle("agentmail", agentMailHeaders(stranger, now), stranger), {
        status: 404,
        body: { error: "no agent holds this inbox" },
      })
      assert.deepStrictEqual(host.received, [])
    }))

  it.effect("a text to an agent's number and a failed text it sent both reach it; an idle agent is told nothing; a host that fails is 502 so Telnyx retries", () =>
    Effect.gen(function*() {
      yield* seed
      const hooks = yield* InboundWebhooks
      const text = JSON.stringify({ data: { event_type: "message.received", payload: { from: { phone_number: "+15559998888" }, to: [{ phone_number: "+15550001111" }], text: "Running late" } } })
      assert.deepStrictEqual(yield* hooks.handle("telnyx", telnyxHeaders(text, now), text), { status: 200, body: { delivered: true } })
      const failed = JSON.stringify({ data: { event_type: "message.finalized", payload: { direction: "outbound", from: { phone_number: "+15550001111" }, to: [{ phone_number: "+15557776666", status: "sending_failed" }], errors: [{ title: "Invalid destination" }] } } })
      assert.strictEqual((yield* hooks.handle("telnyx", telnyxHeaders(failed, now), failed)).status, 200)
      assert.deepStrictEqual(host.received.map((r) => r.body), [
        { kind: "sms", from: "+15559998888", text: "Running late" },
        { kind: "sms_failed", to: "+15557776666", reason: "Invalid destination" },
      ])
      const idle = mailEvent("inb_idle")
      assert.deepStrictEqual((yield* hooks.handle("agentmail", agentMailHeaders(idle, now), idle)).body, {
        delivered: false,
        reason: "the agent is not in a conversation",
      })
      host.failNext = true
      assert.strictEqual((yield* hooks.handle("telnyx", telnyxHeaders(text, now), text)).status, 502)
      assert.strictEqual(host.received.length, 2)
    }))
})
