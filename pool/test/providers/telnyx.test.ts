import { assert, layer } from "@effect/vitest"
import { Duration, Effect, Layer, Option, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll, beforeAll, beforeEach } from "vitest"
import { TestDatabaseLayer } from "../../../test/db/testDatabase.ts"
import { type FakeTelnyx, startFakeTelnyx } from "../../../test/fakes/telnyx.ts"
import { retryAfterOf } from "../../src/resources/providerRest.ts"
import { smsSetting, Telnyx, type TelnyxOptions } from "../../src/resources/Telnyx.ts"
import { ToolProxy, toolProxyHttpStatus } from "../../src/resources/ToolProxy.ts"

const apiKey = "tx-master-key-789"
let fake: FakeTelnyx

beforeAll(async () => {
  fake = await startFakeTelnyx({ apiKey })
})
afterAll(() => fake.close())
const campaignId = "cmp_4b300178"
beforeEach(() => {
  fake.reset()
  fake.clear()
  fake.campaigns.add(campaignId)
})

const options = (overrides: Partial<TelnyxOptions> = {}): TelnyxOptions => ({
  apiUrl: fake.apiUrl,
  apiKey: Redacted.make(apiKey),
  messagingProfileId: "mp_123",
  campaignId,
  countryCode: "US",
  namePrefix: "convos-agent-",
  orderAttempts: 4,
  requestTimeout: Duration.millis(1_000),
  retryBase: Duration.millis(5),
  pollInterval: Duration.millis(2),
  pendingLimit: Duration.millis(500),
  keepReleasedNumbers: true,
  ...overrides,
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
  overrides: Partial<TelnyxOptions> = {},
) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`DELETE FROM phone_number_pool`.pipe(Effect.orDie)
    return yield* body(yield* Telnyx, yield* ToolProxy)
  }).pipe(Effect.provide(ToolProxy.layer), Effect.provide(Telnyx.layerWith(options(overrides))))

/** An order placed earlier for `reference`, as a pool that died would leave it. */
const placeOrder = (phoneNumber: string, reference: string) =>
  Effect.promise(async () => {
    fake.inventory.push(phoneNumber)
    const response = await fetch(`${fake.apiUrl}/number_orders`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ phone_numbers: [{ phone_number: phoneNumber }], customer_reference: reference, messaging_profile_id: "mp_123" }),
    })
    return ((await response.json()) as { data: { id: string } }).data.id
  })

layer(TestDatabaseLayer(), { timeout: "60 seconds", excludeTestServices: true })("Telnyx numbers against the fake v2 API and the pool table", (it) => {
  it.effect("a bought number is searched with filter[features]=sms, its pending order awaited, assigned to the 10DLC campaign once active, and given only once ASSIGNED", () =>
    withTelnyx(({ tool }) =>
      Effect.gen(function*() {
        fake.settings.pendingLooks = 3
        fake.settings.activationLooks = 2
        fake.inventory.push("+15550000001")
        fake.voiceOnly.add("+15550000099")
        fake.inventory.push("+15550000099")
        const created = yield* tool.create("i1")
        assert.strictEqual(created.resourceId, "+15550000001")
        assert.strictEqual(Redacted.value(created.env["TELNYX_PHONE_NUMBER"]!), "+15550000001")
        const search = fake.calls.find((call) => call.key === "GET /v2/available_phone_numbers")!
        assert.strictEqual(search.query.get("filter[features]"), "sms")
        const [order] = [...fake.orders.values()]
        assert.deepStrictEqual([order!.status, order!.customerReference], ["success", "convos-agent-i1"])
        assert.strictEqual(fake.owned.get("+15550000001")?.status, "active")
        assert.strictEqual(fake.count(`GET /v2/number_orders/${order!.id}`), 4, "three pending looks, then success")
        assert.deepStrictEqual(fake.assignments.get("+15550000001")?.status, "ASSIGNED")
        const keys = fake.calls.map((call) => call.key)
        assert.strictEqual(
          keys.slice(0, keys.indexOf("POST /v2/10dlc/phone_number_campaigns")).filter((key) => key === "GET /v2/phone_numbers").length,
          3,
          "waited while the number was purchase-pending (two looks), assigned it once active",
        )
        assert.deepStrictEqual(fake.calls.find((call) => call.key === "POST /v2/10dlc/phone_number_campaigns")?.body, {
          phoneNumber: "+15550000001",
          campaignId,
        })
        assert.deepStrictEqual(yield* rows, [{ phone_number: "+15550000001", status: "assigned", instance_id: "i1" }])
        assert.strictEqual(created.meta["source"], "bought")
      })
    ))

  it.effect("an order that ends in failure starts a new search round; the agent gets the second number", () =>
    withTelnyx(({ tool }) =>
      Effect.gen(function*() {
        fake.inventory.push("+15550000020")
        fake.failOnOrder.set("+15550000020", "+15550000030")
        const created = yield* tool.create("unlucky-order")
        assert.strictEqual(created.resourceId, "+15550000030")
        assert.deepStrictEqual([...fake.orders.values()].map((order) => [order.phoneNumber, order.status]), [
          ["+15550000020", "failure"],
          ["+15550000030", "success"],
        ])
        assert.strictEqual(fake.count("GET /v2/available_phone_numbers"), 2)
        assert.isFalse(fake.owned.has("+15550000020"))
      })
    ))

  it.effect("a number on a pending order of an earlier create (a crash) is found by customer_reference and finished, not bought again", () =>
    withTelnyx(({ tool }) =>
      Effect.gen(function*() {
        yield* placeOrder("+15550000021", "convos-agent-reborn")
        fake.inventory.push("+15550000022")
        assert.deepStrictEqual(yield* tool.find("reborn"), Option.some("+15550000021"))
        const created = yield* tool.create("reborn")
        assert.strictEqual(created.resourceId, "+15550000021")
        assert.strictEqual(fake.count("POST /v2/number_orders"), 1, "only the earlier order")
        assert.strictEqual(fake.count("GET /v2/available_phone_numbers"), 0)
      })
    ))

  it.effect("a 429 without Retry-After waits for x-ratelimit-reset before the order is repeated", () =>
    withTelnyx(({ tool }) =>
      Effect.gen(function*() {
        fake.inventory.push("+15550000023")
        fake.inject({ match: "POST /v2/number_orders", status: 429, headers: { "x-ratelimit-reset": "1" } })
        const started = Date.now()
        yield* tool.create("throttled")
        assert.isAtLeast(Date.now() - started, 1_000, "waited the second the header asked for, not the 5 ms back-off")
        assert.strictEqual(fake.count("POST /v2/number_orders"), 2)
      })
    ))

  it.effect("a failed 10DLC assignment fails the create with Telnyx's reason; the number stays findable for the orphan sweep", () =>
    withTelnyx(({ tool }) =>
      Effect.gen(function*() {
        fake.inventory.push("+15550000024")
        fake.failAssignment.add("+15550000024")
        const error = yield* Effect.flip(tool.create("refused"))
        assert.isFalse(error.retryable)
        assert.match(error.message, /could not assign \+15550000024 to campaign cmp_4b300178: Number type not eligible/)
        assert.deepStrictEqual(yield* tool.find("refused"), Option.some("+15550000024"))
      })
    ))

  it.effect("released numbers are deleted at Telnyx (they stop billing) unless kept; a second release changes nothing", () =>
    withTelnyx(({ tool }) =>
      Effect.gen(function*() {
        fake.inventory.push("+15550000025")
        const number = (yield* tool.create("short-lived")).resourceId
        const id = fake.owned.get(number)!.id
        yield* tool.release("short-lived", number)
        assert.deepStrictEqual(fake.deleted, [number])
        assert.strictEqual(fake.count(`DELETE /v2/phone_numbers/${id}`), 1)
        assert.deepStrictEqual(yield* rows, [])
        yield* tool.release("short-lived", number)
        assert.deepStrictEqual(fake.deleted, [number])
        assert.deepStrictEqual(yield* tool.find("short-lived"), Option.none(), "its order remains, its number does not")
      }), { keepReleasedNumbers: false }))

  it.effect("a kept number goes back to the pool and the next instance reuses it with one look at its 10DLC assignment, no order", () =>
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
        assert.strictEqual(fake.count(), callsBefore + 1)
        assert.strictEqual(fake.calls.at(-1)!.key, "GET /v2/10dlc/phone_number_campaigns/+15550000002")
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
        yield* placeOrder("+15550000011", "convos-agent-ghost")
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
        fake.own("+15550000012", "mp_123")
        fake.inventory.push("+15550000013")
        const [a, b] = yield* Effect.all([tool.create("c1"), tool.create("c2")], { concurrency: 2 })
        assert.notStrictEqual(a.resourceId, b.resourceId)
        assert.deepStrictEqual((yield* rows).map((row) => row.status), ["assigned", "assigned"])
      })
    ))

  it.effect("ToolProxy sends SMS from the instance's own number (no messaging_profile_id, so a number pool cannot swap it), validates input and never resends after a 5xx", () =>
    withTelnyx(({ tool }, proxy) =>
      Effect.gen(function*() {
        fake.inventory.push("+15550000014")
        const number = (yield* tool.create("texter")).resourceId
        // Another agent's number in the same profile, whose number pool is on.
        fake.own("+15550000015", "mp_123")
        fake.numberPoolProfiles.add("mp_123")
        const tools = { instanceId: "texter", telnyxPhoneNumber: number }
        const sent = yield* proxy.sendSms(tools, { to: "+15557654321", text: "hello", from: "+19999999999" })
        assert.deepStrictEqual(fake.messages, [{ id: sent.messageId, from: number, to: "+15557654321", text: "hello", status: "queued" }])
        assert.notProperty(fake.calls.find((call) => call.key === "POST /v2/messages")!.body, "messaging_profile_id")

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

  it.effect("without TELNYX_10DLC_CAMPAIGN_ID SMS is off and the SMS tool says why; no number is bought", () =>
    Effect.gen(function*() {
      const setting = smsSetting("tx-key", undefined)
      assert.isFalse(setting.on)
      const reason = setting.on ? "" : setting.reason ?? ""
      assert.match(reason, /TELNYX_10DLC_CAMPAIGN_ID/)
      assert.deepStrictEqual(smsSetting(undefined, undefined), { on: false, reason: undefined })
      assert.deepStrictEqual(smsSetting("tx-key", "cmp_1"), { on: true })
      const proxy = yield* ToolProxy.pipe(
        Effect.provide(ToolProxy.layerWith({ emailsPerHour: 1, smsPerHour: 1, smsOffReason: reason })),
      )
      const error = yield* Effect.flip(proxy.sendSms({ instanceId: "x", telnyxPhoneNumber: "+15550000001" }, { to: "+15557654321", text: "hi" }))
      assert.strictEqual(toolProxyHttpStatus(error), 501)
      assert.strictEqual(error.message, reason)
      assert.strictEqual(fake.count(), 0)
    }))
})

layer(Layer.empty)("Telnyx rate-limit headers", (it) => {
  it("a 429 waits for Retry-After, else for x-ratelimit-reset (seconds, capped at 30 s); other statuses ignore the latter", () => {
    assert.strictEqual(retryAfterOf({ "retry-after": "2", "x-ratelimit-reset": "9" }, 429), 2_000)
    assert.strictEqual(retryAfterOf({ "x-ratelimit-reset": "9" }, 429), 9_000)
    assert.strictEqual(retryAfterOf({ "x-ratelimit-reset": "600" }, 429), 30_000)
    assert.strictEqual(retryAfterOf({ "x-ratelimit-reset": "9" }, 503), undefined)
    assert.strictEqual(retryAfterOf({}, 429), undefined)
  })
})
