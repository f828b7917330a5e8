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
  fake.settings.pageSize = 100
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
  it.live("create makes one inbox with the instance's client id; release deletes it, twice safely", () =>
    withAgentMail(({ tool }) =>
      Effect.gen(function*() {
        const created = yield* tool.create("inst1")
        assert.strictEqual(created.resourceId, "convos-agent-inst1@mail.convos.test")
        assert.strictEqual(Redacted.value(created.env["AGENTMAIL_INBOX_ID"]!), created.resourceId)
        const inbox = fake.inboxes.get(created.resourceId)!
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

  it.live("lists the instance's inbox, newest first", () =>
    withAgentMail(({ tool }, proxy) =>
      Effect.gen(function*() {
        const mine = yield* tool.create("reader")
        fake.deliver(mine.resourceId, { from: "a@example.com", subject: "first", text: "one" })
        fake.deliver(mine.resourceId, { from: "b@example.com", subject: "second", text: "two" })
        const messages = yield* proxy.listInbox({ instanceId: "reader", agentmailInboxId: mine.resourceId }, { limit: 10 })
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

  it.live("an instance without an inbox gets a 404; a send that fails upstream is not resent", () =>
    withAgentMail(({ tool }, proxy) =>
      Effect.gen(function*() {
        const none = yield* Effect.flip(proxy.sendEmail({ instanceId: "bare" }, { to: "a@b.com", subject: "s", text: "t" }))
        assert.strictEqual(none.reason, "NotProvisioned")
        assert.strictEqual(toolProxyHttpStatus(none), 404)

        const mine = yield* tool.create("unlucky")
        fake.inject({ match: `POST /v0/inboxes/${mine.resourceId}/messages/send`, status: 500, after: true })
        const failed = yield* Effect.flip(
          proxy.sendEmail({ instanceId: "unlucky", agentmailInboxId: mine.resourceId }, { to: "a@b.com", subject: "s", text: "t" }),
        )
        assert.strictEqual(failed.reason, "ProviderFailed")
        assert.strictEqual(toolProxyHttpStatus(failed), 503)
        assert.strictEqual(fake.count(`POST /v0/inboxes/${mine.resourceId}/messages/send`), 1)
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
