import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { Pool } from "../src/Pool.ts"
import { AgentMail } from "../src/resources/AgentMail.ts"
import { InstanceTokens } from "../src/InstanceTokens.ts"
import { TestDatabaseLayer } from "../../test/db/testDatabase.ts"
import { startFakeAgentMail } from "../../test/fakes/agentmail.ts"
import { api, baseUrl, serveApi } from "./support/httpHarness.ts"
import { fakeAgentMailLayer, makeDataDir, poolLayer } from "./support/poolHarness.ts"
import { waitFor } from "../../test/waitFor.ts"

const masterKey = "am-master-key-for-tools-test"

describe("instance tool routes", () => {
  it.live("an instance sends and reads mail only through its own inbox, authenticated by its own token", () =>
    Effect.gen(function*() {
      const fake = yield* Effect.acquireRelease(
        Effect.promise(() => startFakeAgentMail({ apiKey: masterKey })),
        (f) => Effect.promise(() => f.close()),
      )
      const { dir, cleanup } = makeDataDir()
      yield* Effect.addFinalizer(() => Effect.sync(cleanup))
      const agentMailLayer = fakeAgentMailLayer(fake.apiUrl, masterKey)
      const agentMail = yield* Effect.provide(AgentMail, agentMailLayer)
      const layer = serveApi(
        poolLayer({ dataDir: dir, tools: [agentMail.tool], toolServices: agentMailLayer }).pipe(
          Layer.provide(TestDatabaseLayer()),
        ),
      )
      yield* Effect.gen(function*() {
        const pool = yield* Pool
        const tokens = yield* InstanceTokens
        const [a, b] = yield* pool.replenish(2)
        yield* waitFor("2 idle", Effect.map(pool.counts, (c) => c.idle === 2 ? true : undefined))
        assert.strictEqual(fake.inboxes.size, 2, "one inbox per instance")
        const call = api(yield* baseUrl)
        const as = (id: string, token = Redacted.value(tokens.tokenFor(id))) => ({
          key: token,
          headers: { "x-instance-id": id },
        })

        const sent = yield* Effect.promise(() =>
          call("POST", "/api/tools/email/send", { ...as(a!), body: { to: "friend@example.com", subject: "Hi", text: "Hello" } })
        )
        assert.strictEqual(sent.status, 200, sent.text)
        assert.isString(sent.json.messageId)
        const inboxA = [...fake.inboxes.values()].find((i) => i.email.includes(a!))!
        assert.strictEqual(inboxA.messages.length, 1, "the mail left from instance a's own inbox")
        fake.deliver(inboxA.inboxId, { from: "friend@example.com", subject: "re: hi", text: "hello back" })

        const inbox = yield* Effect.promise(() => call("GET", "/api/tools/email/inbox?limit=5", as(a!)))
        assert.strictEqual(inbox.status, 200)
        assert.strictEqual(inbox.json.messages.length, 1)
        assert.strictEqual(inbox.json.messages[0].subject, "re: hi", "received mail, not its own send")
        const ofB = yield* Effect.promise(() => call("GET", "/api/tools/email/inbox", as(b!)))
        assert.strictEqual(ofB.json.messages.length, 0, "b sees only its own inbox")

        const forged = yield* Effect.promise(() =>
          call("GET", "/api/tools/email/inbox", as(a!, Redacted.value(tokens.tokenFor(b!))))
        )
        assert.strictEqual(forged.status, 403, "b's token does not open a's inbox")
        const withApiKey = yield* Effect.promise(() => call("GET", "/api/tools/email/inbox", { headers: { "x-instance-id": a! } }))
        assert.strictEqual(withApiKey.status, 403, "the admin key is not an instance token")

        const bad = yield* Effect.promise(() =>
          call("POST", "/api/tools/email/send", { ...as(a!), body: { to: "not an address", subject: "x", text: "y" } })
        )
        assert.strictEqual(bad.status, 400)
        const sms = yield* Effect.promise(() => call("POST", "/api/tools/sms/send", { ...as(a!), body: { to: "+15551234567", text: "x" } }))
        assert.strictEqual(sms.status, 501, "SMS is not set up on this pool")
        for (let i = 0; i < 3; i++) {
          yield* Effect.promise(() =>
            call("POST", "/api/tools/email/send", { ...as(a!), body: { to: "friend@example.com", subject: "Hi", text: `n${i}` } })
          )
        }
        const limited = yield* Effect.promise(() =>
          call("POST", "/api/tools/email/send", { ...as(a!), body: { to: "friend@example.com", subject: "Hi", text: "more" } })
        )
        assert.strictEqual(limited.status, 429, "hourly send quota")
        for (const r of [sent, inbox, forged, bad, sms, limited]) assert.notInclude(r.text, masterKey)

        // The provider webhooks are served beside the API; unsigned ones are refused (this pool has no webhook secret).
        const unsigned = yield* Effect.promise(() =>
          call("POST", "/webhooks/agentmail", { key: null, rawBody: JSON.stringify({ event_type: "message.received" }) })
        )
        assert.strictEqual(unsigned.status, 401)
        assert.match(unsigned.json.error, /AGENTMAIL_WEBHOOK_SECRET is not set/)
      }).pipe(Effect.provide(layer))
    }).pipe(Effect.scoped), 60_000)
})
