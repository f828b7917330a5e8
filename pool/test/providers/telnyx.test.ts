import { assert, layer } from "@effect/vitest"
import { Duration, Effect, Option, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll, beforeAll, beforeEach } from "vitest"
import { TestDatabaseLayer } from "../../../test/db/testDatabase.ts"
import { type FakeTelnyx, startFakeTelnyx } from "../../../test/fakes/telnyx.ts"
import { Telnyx, type TelnyxOptions } from "../../src/resources/Telnyx.ts"
import { ToolProxy, toolProxyHttpStatus } from "../../src/resources/ToolProxy.ts"

const apiKey = "tx-master-key-789"
let fake: FakeTelnyx

beforeAll(async () => {
  fake = await startFakeTelnyx({ apiKey })
})
afterAll(() => fake.close())
beforeEach(() => {
  fake.reset()
  fake.inventory.length = 0
  fake.owned.clear()
  fake.messages.length = 0
  fake.takenOnOrder.clear()
})

const options = (): TelnyxOptions => ({
  apiUrl: fake.apiUrl,
  apiKey: Redacted.make(apiKey),
  messagingProfileId: "mp_123",
  countryCode: "US",
  namePrefix: "convos-agent-",
  orderAttempts: 4,
  requestTimeout: Duration.millis(1_000),
  retryBase: Duration.millis(5),
})

interface PoolRow {
  readonly phone_number: string
  readonly status: string
  readonly instance_id: string | null
}

const rows = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  return yield* sql<PoolRow>`SELECT phone_number, status, instance_id FROM phone_number_pool ORDER BY phone_number`
}).pipe(Effect.orDie)

/** Fresh table and a Telnyx service (plus the proxy) for one test. */
const withTelnyx = <A, E>(
  body: (telnyx: typeof Telnyx.Service, proxy: typeof ToolProxy.Service) => Effect.Effect<A, E, SqlClient.SqlClient>,
) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`DELETE FROM phone_number_pool`.pipe(Effect.orDie)
    return yield* body(yield* Telnyx, yield* ToolProxy)
  }).pipe(Effect.provide(ToolProxy.layer), Effect.provide(Telnyx.layerWith(options())))

layer(TestDatabaseLayer(), { timeout: "60 seconds", excludeTestServices: true })("Telnyx numbers against the fake v2 API and the pool table", (it) => {
  it.effect("with an empty pool a number is searched, ordered with the profile and reference, and recorded as assigned", () =>
    withTelnyx(({ tool }) =>
      Effect.gen(function*() {
        fake.inventory.push("+15550000001")
        const created = yield* tool.create("i1")
        assert.strictEqual(created.resourceId, "+15550000001")
        assert.strictEqual(Redacted.value(created.env["TELNYX_PHONE_NUMBER"]!), "+15550000001")
        assert.deepStrictEqual(fake.owned.get("+15550000001"), { customerReference: "convos-agent-i1", messagingProfileId: "mp_123" })
        assert.deepStrictEqual(yield* rows, [{ phone_number: "+15550000001", status: "assigned", instance_id: "i1" }])
        assert.strictEqual(created.meta["source"], "bought")
      })
    ))

  it.effect("a released number goes back to the pool and the next instance reuses it without calling Telnyx", () =>
    withTelnyx(({ tool }) =>
      Effect.gen(function*() {
        fake.inventory.push("+15550000002")
        const first = yield* tool.create("i1")
        yield* tool.release("i1", first.resourceId)
        yield* tool.release("i1", first.resourceId)
        assert.deepStrictEqual(yield* rows, [{ phone_number: "+15550000002", status: "available", instance_id: null }])
        const callsBefore = fake.count()
        const second = yield* tool.create("i2")
        assert.strictEqual(second.resourceId, "+15550000002")
        assert.strictEqual(second.meta["source"], "pool")
        assert.strictEqual(fake.count(), callsBefore)
        assert.deepStrictEqual(yield* rows, [{ phone_number: "+15550000002", status: "assigned", instance_id: "i2" }])
      })
    ))

  it.effect("a stale release from an earlier holder does not free the number its new holder has", () =>
    withTelnyx(({ tool }) =>
      Effect.gen(function*() {
        fake.inventory.push("+15550000003")
        const number = (yield* tool.create("old")).resourceId
        yield* tool.release("old", number)
        yield* tool.create("new")
        yield* tool.release("old", number)
        assert.deepStrictEqual(yield* rows, [{ phone_number: number, status: "assigned", instance_id: "new" }])
      })
    ))

  it.effect("create is idempotent per instance: asking twice gives the same number", () =>
    withTelnyx(({ tool }) =>
      Effect.gen(function*() {
        fake.inventory.push("+15550000004", "+15550000005")
        const a = yield* tool.create("twice")
        const b = yield* tool.create("twice")
        assert.strictEqual(a.resourceId, b.resourceId)
        assert.strictEqual(fake.owned.size, 1)
      })
    ))

  it.effect("a number taken between search and order (422) leads to a new search and another number", () =>
    withTelnyx(({ tool }) =>
      Effect.gen(function*() {
        fake.inventory.push("+15550000006")
        fake.takenOnOrder.set("+15550000006", "+15550000007")
        const created = yield* tool.create("racer")
        assert.strictEqual(created.resourceId, "+15550000007")
        assert.strictEqual(fake.count("GET /v2/available_phone_numbers"), 2)
        assert.deepStrictEqual([...fake.owned.keys()], ["+15550000007"])
      })
    ))

  it.effect("an order that went through but answered 500 is found by its reference: one number bought, not two", () =>
    withTelnyx(({ tool }) =>
      Effect.gen(function*() {
        fake.inventory.push("+15550000008", "+15550000009")
        fake.inject({ match: "POST /v2/number_orders", status: 500, after: true })
        const created = yield* tool.create("ambig")
        assert.strictEqual(fake.count("POST /v2/number_orders"), 1)
        assert.strictEqual(fake.owned.size, 1)
        assert.isTrue(fake.owned.has(created.resourceId))
      })
    ))

  it.effect("503 and 429 are retried: a 503 that did nothing starts a new round, a 429 repeats the order", () =>
    withTelnyx(({ tool }) =>
      Effect.gen(function*() {
        fake.inventory.push("+15550000010")
        fake.inject({ match: "GET /v2/available_phone_numbers", status: 503 })
        fake.inject({ match: "POST /v2/number_orders", status: 429, retryAfter: "0" })
        fake.inject({ match: "POST /v2/number_orders", status: 503 })
        const created = yield* tool.create("patient")
        assert.strictEqual(created.resourceId, "+15550000010")
        assert.strictEqual(fake.count("POST /v2/number_orders"), 3)
        assert.strictEqual(fake.owned.size, 1)
      })
    ))

  it.effect("no numbers for sale ends in a bounded, retryable error and nothing recorded", () =>
    withTelnyx(({ tool }) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(tool.create("unlucky"))
        assert.isTrue(error.retryable)
        assert.match(error.message, /no US SMS numbers available/)
        assert.strictEqual(fake.count("GET /v2/available_phone_numbers"), 4)
        assert.deepStrictEqual(yield* rows, [])
      })
    ))

  it.effect("a number bought by a pool that died before recording it is found by reference and released into the pool", () =>
    withTelnyx(({ tool }) =>
      Effect.gen(function*() {
        fake.owned.set("+15550000011", { customerReference: "convos-agent-ghost", messagingProfileId: "mp_123" })
        const found = yield* tool.find("ghost")
        assert.deepStrictEqual(found, Option.some("+15550000011"))
        yield* tool.release("ghost", "+15550000011")
        assert.deepStrictEqual(yield* rows, [{ phone_number: "+15550000011", status: "available", instance_id: null }])
        assert.deepStrictEqual(yield* tool.find("nobody"), Option.none())
      })
    ))

  it.effect("two instances warming up at once never get the same pooled number", () =>
    withTelnyx(({ tool }) =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* sql`INSERT INTO phone_number_pool (phone_number, messaging_profile_id) VALUES ('+15550000012', 'mp_123')`
          .pipe(Effect.orDie)
        fake.inventory.push("+15550000013")
        const [a, b] = yield* Effect.all([tool.create("c1"), tool.create("c2")], { concurrency: 2 })
        assert.notStrictEqual(a.resourceId, b.resourceId)
        assert.deepStrictEqual((yield* rows).map((row) => row.status), ["assigned", "assigned"])
      })
    ))

  it.effect("ToolProxy sends SMS from the instance's own number, validates input and never resends after a 5xx", () =>
    withTelnyx(({ tool }, proxy) =>
      Effect.gen(function*() {
        fake.inventory.push("+15550000014")
        const number = (yield* tool.create("texter")).resourceId
        const tools = { instanceId: "texter", telnyxPhoneNumber: number }
        const sent = yield* proxy.sendSms(tools, { to: "+15557654321", text: "hello", from: "+19999999999" })
        assert.deepStrictEqual(fake.messages, [{ id: sent.messageId, from: number, to: "+15557654321", text: "hello" }])

        const bad = yield* Effect.flip(proxy.sendSms(tools, { to: "555-1234", text: "hi" }))
        assert.strictEqual(toolProxyHttpStatus(bad), 400)
        assert.match(bad.message, /E\.164/)
        const none = yield* Effect.flip(proxy.sendSms({ instanceId: "bare" }, { to: "+15557654321", text: "hi" }))
        assert.strictEqual(none.reason, "NotProvisioned")

        fake.inject({ match: "POST /v2/messages", status: 500, after: true })
        const failed = yield* Effect.flip(proxy.sendSms(tools, { to: "+15557654321", text: "once" }))
        assert.strictEqual(failed.reason, "ProviderFailed")
        assert.strictEqual(fake.count("POST /v2/messages"), 2)
        assert.strictEqual(fake.messages.length, 2, "delivered once, not resent")
        assert.notInclude(JSON.stringify(failed), apiKey)
      })
    ))
})
