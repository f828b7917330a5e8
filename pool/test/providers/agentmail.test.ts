import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Option, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll, beforeAll, beforeEach } from "vitest"
import { TestDatabaseLayer } from "../../../test/db/testDatabase.ts"
import { type FakeAgentMail, startFakeAgentMail } from "../../../test/fakes/agentmail.ts"
import { AgentMail, type AgentMailOptions } from "../../src/resources/AgentMail.ts"
import { ToolProxy, toolProxyHttpStatus } from "../../src/resources/ToolProxy.ts"

const apiKey = "am-master-key-456"
let fake: FakeAgentMail

beforeAll(async () => {
  fake = await startFakeAgentMail({ apiKey })
})
afterAll(() => fake.close())
beforeEach(() => {
  fake.reset()
  fake.inboxes.clear()
  fake.deleted.length = 0
  fake.settings.pageSize = 100
  fake.settings.deletedClientIdReturnsOriginal = true
})

describe("the send quota", () => {
  it.live("is one count in the database: two pool processes sending at once for one instance share it exactly", () =>
    Effect.gen(function*() {
      const { tool } = yield* AgentMail
      const inbox = yield* tool.create("busy")
      // Each provide builds its own ToolProxy, as two pool processes would have.
      const proxyOf = () => Effect.provide(Effect.service(ToolProxy), ToolProxy.layerWith({ emailsPerHour: 3, smsPerHour: 3 }))
      const processes = [yield* proxyOf(), yield* proxyOf()]
      const mail = { to: "a@example.com", subject: "s", text: "t" }
      const results = yield* Effect.all(
        Array.from({ length: 8 }, (_, i) =>
          Effect.result(processes[i % 2]!.sendEmail({ instanceId: "busy", agentmailInboxId: inbox.resourceId }, mail))),
        { concurrency: "unbounded" },
      )
      assert.strictEqual(results.filter((r) => r._tag === "Success").length, 3)
      assert.strictEqual(fake.inboxes.get(inbox.resourceId)!.messages.length, 3)
    }).pipe(Effect.provide(AgentMail.layerWith(options())), Effect.provide(TestDatabaseLayer())), 30_000)
})

const options = (): AgentMailOptions => ({
  apiUrl: fake.apiUrl,
  apiKey: Redacted.make(apiKey),
  domain: "mail.convos.test",
  displayName: "Convos Agent",
  namePrefix: "convos-agent-",
  requestTimeout: Duration.millis(1_000),
  retryBase: Duration.millis(5),
})

const withAgentMail = <A, E>(body: (agentMail: typeof AgentMail.Service, proxy: typeof ToolProxy.Service) => Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    return yield* body(yield* AgentMail, yield* ToolProxy)
  }).pipe(Effect.provide(ToolProxy.layer), Effect.provide(AgentMail.layerWith(options())), Effect.provide(TestDatabaseLayer()))

describe("AgentMail inboxes against the fake v0 API", () => {
  it.live("create makes one inbox with the instance's client id and gives the agent its email, not its inbox id; release deletes it, twice safely", () =>
    withAgentMail(({ tool }) =>
      Effect.gen(function*() {
        const created = yield* tool.create("inst1")
        const inbox = fake.inboxes.get(created.resourceId)!
        assert.strictEqual(inbox.email, "convos-agent-inst1@mail.convos.test")
        assert.notStrictEqual(inbox.inboxId, inbox.email, "the fake's ids are opaque, as the API allows")
        assert.strictEqual(Redacted.value(created.env["AGENTMAIL_INBOX_ID"]!), inbox.inboxId)
        assert.strictEqual(Redacted.value(created.env["AGENTMAIL_ADDRESS"]!), "convos-agent-inst1@mail.convos.test")
        assert.strictEqual(created.meta["email"], "convos-agent-inst1@mail.convos.test")
        assert.strictEqual(inbox.clientId, "convos-agent-inst1")
        assert.strictEqual(inbox.displayName, "Convos Agent")
        yield* tool.release("inst1", created.resourceId)
        assert.strictEqual(fake.inboxes.size, 0)
        yield* tool.release("inst1", created.resourceId)
      })
    ))

  it.live("5xx and a timeout that already made the inbox are retried: the client id yields the same single inbox", () =>
    withAgentMail(({ tool }) =>
      Effect.gen(function*() {
        fake.inject({ match: "POST /v0/inboxes", status: 503 })
        fake.inject({ match: "POST /v0/inboxes", delayMs: 1_600, after: true })
        const created = yield* tool.create("flaky")
        assert.strictEqual(fake.count("POST /v0/inboxes"), 3)
        assert.deepStrictEqual([...fake.inboxes.keys()], [created.resourceId])
      })
    ))

  it.live("persistent 5xx ends in a retryable error after a bounded number of tries, leaving nothing", () =>
    withAgentMail(({ tool }) =>
      Effect.gen(function*() {
        fake.inject({ match: "POST /v0/inboxes", status: 502, times: 50 })
        const error = yield* Effect.flip(tool.create("down"))
        assert.isTrue(error.retryable)
        assert.strictEqual(fake.count("POST /v0/inboxes"), 5)
        assert.strictEqual(fake.inboxes.size, 0)
      })
    ))

  it.live("after a crash the inbox is found by its client id across pages and released", () =>
    withAgentMail(({ tool }) =>
      Effect.gen(function*() {
        fake.settings.pageSize = 2
        for (const id of ["a", "b", "c"]) yield* tool.create(id)
        const lost = yield* tool.create("lost")
        assert.deepStrictEqual(yield* tool.find("lost"), Option.some(lost.resourceId))
        assert.deepStrictEqual(yield* tool.find("nobody"), Option.none())
        yield* tool.release("lost", lost.resourceId)
        assert.strictEqual(fake.inboxes.size, 3)
      })
    ))

  it.live("a create whose client id answers a deleted inbox (AgentMail returns the original result) makes a live one under the next client id, found again by find", () =>
    withAgentMail(({ tool }) =>
      Effect.gen(function*() {
        const first = yield* tool.create("again")
        yield* tool.release("again", first.resourceId)
        const second = yield* tool.create("again")
        assert.notStrictEqual(second.resourceId, first.resourceId)
        assert.strictEqual(fake.inboxes.get(second.resourceId)?.clientId, "convos-agent-again~2")
        assert.strictEqual(second.meta["clientId"], "convos-agent-again~2")
        assert.deepStrictEqual(yield* tool.find("again"), Option.some(second.resourceId))
        // Where AgentMail gives a new inbox for a deleted one's client id, the first client id is used as is.
        fake.settings.deletedClientIdReturnsOriginal = false
        const third = yield* tool.create("fresh")
        yield* tool.release("fresh", third.resourceId)
        assert.strictEqual(fake.inboxes.get((yield* tool.create("fresh")).resourceId)?.clientId, "convos-agent-fresh")
      })
    ))
})

describe("ToolProxy email on behalf of an instance", () => {
  it.live("sends from the instance's own inbox only, whatever the request says", () =>
    withAgentMail(({ tool }, proxy) =>
      Effect.gen(function*() {
        const mine = yield* tool.create("me")
        const other = yield* tool.create("other")
        const sent = yield* proxy.sendEmail(
          { instanceId: "me", agentmailInboxId: mine.resourceId },
          { to: "friend@example.com", subject: "Hi", text: "Hello there", inboxId: other.resourceId },
        )
        const message = fake.inboxes.get(mine.resourceId)!.messages[0]!
        assert.strictEqual(message.message_id, sent.messageId)
        assert.deepStrictEqual(message.to, ["friend@example.com"])
        assert.strictEqual(message.text, "Hello there")
        assert.strictEqual(fake.inboxes.get(other.resourceId)!.messages.length, 0)
      })
    ))

  it.live("lists the mail the instance received, newest first, without its own sends (labels=received)", () =>
    withAgentMail(({ tool }, proxy) =>
      Effect.gen(function*() {
        const mine = yield* tool.create("reader")
        const tools = { instanceId: "reader", agentmailInboxId: mine.resourceId }
        fake.deliver(mine.resourceId, { from: "a@example.com", subject: "first", text: "one" })
        yield* proxy.sendEmail(tools, { to: "c@example.com", subject: "my own send", text: "out" })
        fake.deliver(mine.resourceId, { from: "b@example.com", subject: "second", text: "two" })
        const messages = yield* proxy.listInbox(tools, { limit: 10 })
        assert.strictEqual(fake.calls.find((call) => call.key.endsWith("/messages") && call.method === "GET")?.query.get("labels"), "received")
        assert.deepStrictEqual(messages.map((m) => m.subject), ["second", "first"])
        assert.strictEqual(messages[0]!.from, "b@example.com")
      })
    ))

  it.live("reads a message in full from the instance's own inbox; another inbox's message is a 404", () =>
    withAgentMail(({ tool }, proxy) =>
      Effect.gen(function*() {
        const mine = yield* tool.create("full-reader")
        const other = yield* tool.create("neighbour")
        fake.deliver(mine.resourceId, { from: "a@example.com", subject: "code", text: "Your code is 1234" })
        fake.deliver(other.resourceId, { from: "b@example.com", subject: "private", text: "not yours" })
        const tools = { instanceId: "full-reader", agentmailInboxId: mine.resourceId }
        const [latest] = yield* proxy.listInbox(tools, {})
        const message = yield* proxy.readEmail(tools, { messageId: latest!.messageId })
        assert.strictEqual(message.text, "Your code is 1234")
        assert.strictEqual(message.subject, "code")

        const theirs = fake.inboxes.get(other.resourceId)!.messages[0]!.message_id
        const denied = yield* Effect.flip(proxy.readEmail(tools, { messageId: theirs }))
        assert.strictEqual(toolProxyHttpStatus(denied), 404)
      })
    ))

  it.live("bad input is a 400 with a readable reason and nothing is sent", () =>
    withAgentMail(({ tool }, proxy) =>
      Effect.gen(function*() {
        const mine = yield* tool.create("sloppy")
        const tools = { instanceId: "sloppy", agentmailInboxId: mine.resourceId }
        const badAddress = yield* Effect.flip(proxy.sendEmail(tools, { to: "a@b.com, c@d.com", subject: "s", text: "t" }))
        assert.strictEqual(badAddress.reason, "InvalidRequest")
        assert.strictEqual(toolProxyHttpStatus(badAddress), 400)
        assert.match(badAddress.message, /one email address/)
        const blank = yield* Effect.flip(proxy.sendEmail(tools, { to: "a@b.com", subject: "s", text: "   " }))
        assert.match(blank.message, /text must not be empty/)
        const badLimit = yield* Effect.flip(proxy.listInbox(tools, { limit: 500 }))
        assert.strictEqual(badLimit.reason, "InvalidRequest")
        assert.strictEqual(fake.count(`POST /v0/inboxes/${mine.resourceId}/messages/send`), 0)
        assert.strictEqual(fake.inboxes.get(mine.resourceId)!.messages.length, 0)
      })
    ))

  it.live("an instance without an inbox gets a 404; a send whose answer was lost is asked again with the same Idempotency-Key and mailed once", () =>
    withAgentMail(({ tool }, proxy) =>
      Effect.gen(function*() {
        const none = yield* Effect.flip(proxy.sendEmail({ instanceId: "bare" }, { to: "a@b.com", subject: "s", text: "t" }))
        assert.strictEqual(none.reason, "NotProvisioned")
        assert.strictEqual(toolProxyHttpStatus(none), 404)

        const mine = yield* tool.create("unlucky")
        fake.inject({ match: `POST /v0/inboxes/${mine.resourceId}/messages/send`, status: 500, after: true })
        const sent = yield* proxy.sendEmail({ instanceId: "unlucky", agentmailInboxId: mine.resourceId }, { to: "a@b.com", subject: "s", text: "t" })
        const sends = fake.calls.filter((call) => call.key === `POST /v0/inboxes/${mine.resourceId}/messages/send`)
        assert.strictEqual(sends.length, 2)
        assert.match(sends[0]!.headers["idempotency-key"] ?? "", /^[0-9a-f-]{36}$/)
        assert.strictEqual(sends[1]!.headers["idempotency-key"], sends[0]!.headers["idempotency-key"])
        assert.strictEqual(fake.inboxes.get(mine.resourceId)!.messages.length, 1, "mailed once")
        assert.strictEqual(fake.inboxes.get(mine.resourceId)!.messages[0]!.message_id, sent.messageId)

        // A send that keeps failing ends in a retryable error without the key in it.
        fake.inject({ match: `POST /v0/inboxes/${mine.resourceId}/messages/send`, status: 500, times: 10 })
        const failed = yield* Effect.flip(
          proxy.sendEmail({ instanceId: "unlucky", agentmailInboxId: mine.resourceId }, { to: "a@b.com", subject: "s", text: "t" }),
        )
        assert.strictEqual(failed.reason, "ProviderFailed")
        assert.strictEqual(toolProxyHttpStatus(failed), 503)
        assert.notInclude(JSON.stringify(failed), apiKey)
      })
    ))
})

describe("ToolProxy send quota", () => {
  it.live("forgets sends older than the hour, keeps counting the ones inside it", () =>
    Effect.gen(function*() {
      const { tool } = yield* AgentMail
      const proxy = yield* ToolProxy
      const sql = yield* SqlClient.SqlClient
      const inbox = yield* tool.create("steady")
      // Two sends 61 minutes ago (out of the window) and one 59 minutes ago (in it), against a quota of 2.
      yield* sql`INSERT INTO tool_sends (instance_id, kind, sent_at) VALUES
        ('steady', 'email', now() - interval '61 minutes'), ('steady', 'email', now() - interval '61 minutes'),
        ('steady', 'email', now() - interval '59 minutes')`
      const mail = { to: "a@example.com", subject: "s", text: "t" }
      yield* proxy.sendEmail({ instanceId: "steady", agentmailInboxId: inbox.resourceId }, mail)
      const limited = yield* Effect.flip(proxy.sendEmail({ instanceId: "steady", agentmailInboxId: inbox.resourceId }, mail))
      assert.strictEqual(limited.reason, "RateLimited")
      const [left] = yield* sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM tool_sends WHERE instance_id = 'steady'`
      assert.strictEqual(left?.n, 2, "the old sends were deleted; the one inside the hour and the new one remain")
    }).pipe(
      Effect.provide(ToolProxy.layerWith({ emailsPerHour: 2, smsPerHour: 2 })),
      Effect.provide(AgentMail.layerWith(options())),
      Effect.provide(TestDatabaseLayer()),
    ))

  it.live("an instance over its hourly email quota gets a 429 and nothing is sent; others are unaffected", () =>
    Effect.gen(function*() {
      const { tool } = yield* AgentMail
      const proxy = yield* ToolProxy
      const mine = yield* tool.create("chatty")
      const other = yield* tool.create("quiet")
      const mail = { to: "a@example.com", subject: "s", text: "t" }
      yield* proxy.sendEmail({ instanceId: "chatty", agentmailInboxId: mine.resourceId }, mail)
      yield* proxy.sendEmail({ instanceId: "chatty", agentmailInboxId: mine.resourceId }, mail)
      const limited = yield* Effect.flip(proxy.sendEmail({ instanceId: "chatty", agentmailInboxId: mine.resourceId }, mail))
      assert.strictEqual(limited.reason, "RateLimited")
      assert.strictEqual(toolProxyHttpStatus(limited), 429)
      assert.strictEqual(fake.inboxes.get(mine.resourceId)!.messages.length, 2)
      yield* proxy.sendEmail({ instanceId: "quiet", agentmailInboxId: other.resourceId }, mail)
      assert.strictEqual(fake.inboxes.get(other.resourceId)!.messages.length, 1)
    }).pipe(
      Effect.provide(ToolProxy.layerWith({ emailsPerHour: 2, smsPerHour: 2 })),
      Effect.provide(AgentMail.layerWith(options())),
      Effect.provide(TestDatabaseLayer()),
    ))
})
