import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Option, Redacted } from "effect"
import { afterAll, beforeAll, beforeEach } from "vitest"
import { type FakeOpenRouter, startFakeOpenRouter } from "../../../test/fakes/openrouter.ts"
import { OpenRouter, type OpenRouterOptions } from "../../src/resources/OpenRouter.ts"

const managementKey = "or-management-key-xyz"
let fake: FakeOpenRouter

beforeAll(async () => {
  fake = await startFakeOpenRouter({ managementKey })
})
afterAll(() => fake.close())
beforeEach(() => {
  fake.reset()
  fake.keys.clear()
  fake.settings.pageSize = 100
})

const options = (overrides: Partial<OpenRouterOptions> = {}): OpenRouterOptions => ({
  apiUrl: fake.apiUrl,
  managementKey: Redacted.make(managementKey),
  keyLimit: 20,
  limitReset: "monthly",
  namePrefix: "convos-agent-",
  requestTimeout: Duration.millis(1_000),
  retryBase: Duration.millis(5),
  ...overrides,
})

const withOpenRouter = <A, E>(
  body: (openrouter: typeof OpenRouter.Service) => Effect.Effect<A, E>,
  overrides: Partial<OpenRouterOptions> = {},
) =>
  Effect.gen(function*() {
    return yield* body(yield* OpenRouter)
  }).pipe(Effect.provide(OpenRouter.layerWith(options(overrides))))

describe("OpenRouter keys against the fake management API", () => {
  it.live("create makes one capped, monthly-reset key named after the instance; release deletes it, twice safely", () =>
    withOpenRouter(({ tool }) =>
      Effect.gen(function*() {
        const created = yield* tool.create("inst1")
        assert.strictEqual(fake.keys.size, 1)
        const key = [...fake.keys.values()][0]!
        assert.strictEqual(key.name, "convos-agent-inst1")
        assert.strictEqual(key.limit, 20)
        assert.strictEqual(key.limitReset, "monthly")
        assert.strictEqual(created.resourceId, key.hash)
        assert.strictEqual(Redacted.value(created.env["OPENROUTER_API_KEY"]!), key.key)
        assert.deepStrictEqual(tool.envKeys, ["OPENROUTER_API_KEY"])

        yield* tool.release("inst1", created.resourceId)
        assert.strictEqual(fake.keys.size, 0)
        yield* tool.release("inst1", created.resourceId)
        assert.strictEqual(fake.count(`DELETE /api/v1/keys/${created.resourceId}`), 2)
      })
    ))

  it.live("creating again for the same instance replaces the earlier key instead of adding a second", () =>
    withOpenRouter(({ tool }) =>
      Effect.gen(function*() {
        yield* tool.create("again")
        const second = yield* tool.create("again")
        assert.deepStrictEqual([...fake.keys.keys()], [second.resourceId])
      })
    ))

  it.live("a 429 on create is retried after Retry-After; one key results", () =>
    withOpenRouter(({ tool }) =>
      Effect.gen(function*() {
        fake.inject({ match: "POST /api/v1/keys", status: 429, retryAfter: "0", times: 2 })
        yield* tool.create("limited")
        assert.strictEqual(fake.count("POST /api/v1/keys"), 3)
        assert.strictEqual(fake.keys.size, 1)
      })
    ))

  it.live("a create that made the key but answered 500 is not retried blindly: the key is deleted, the error retryable", () =>
    withOpenRouter(({ tool }) =>
      Effect.gen(function*() {
        fake.inject({ match: "POST /api/v1/keys", status: 500, after: true })
        const error = yield* Effect.flip(tool.create("ambiguous"))
        assert.isTrue(error.retryable)
        assert.strictEqual(error.tool, "openrouter")
        assert.strictEqual(fake.count("POST /api/v1/keys"), 1)
        assert.strictEqual(fake.keys.size, 0)
      })
    ))

  it.live("a create that timed out after making the key cleans the key up", () =>
    withOpenRouter(({ tool }) =>
      Effect.gen(function*() {
        fake.inject({ match: "POST /api/v1/keys", delayMs: 1_600, after: true })
        const exit = yield* Effect.exit(tool.create("slow"))
        assert.isTrue(Exit.isFailure(exit))
        assert.strictEqual(fake.keys.size, 0)
      })
    ))

  it.live("after a crash the key is found by name (across pages) and released", () =>
    withOpenRouter(({ tool }) =>
      Effect.gen(function*() {
        fake.settings.pageSize = 2
        for (const id of ["a", "b", "c", "d"]) yield* tool.create(id)
        const lost = yield* tool.create("lost") // the pool died before recording this hash
        assert.deepStrictEqual(yield* tool.find("lost"), Option.some(lost.resourceId))
        assert.deepStrictEqual(yield* tool.find("never"), Option.none())
        yield* tool.release("lost", lost.resourceId)
        assert.strictEqual(fake.keys.size, 4)
      })
    ))

  it.live("release retries through 503s", () =>
    withOpenRouter(({ tool }) =>
      Effect.gen(function*() {
        const created = yield* tool.create("del")
        fake.inject({ match: `DELETE /api/v1/keys/${created.resourceId}`, status: 503, times: 2 })
        yield* tool.release("del", created.resourceId)
        assert.strictEqual(fake.keys.size, 0)
      })
    ))

  it.live("credits: one key's limit and usage, a top-up of its limit, and the account's totals", () =>
    withOpenRouter((openrouter) =>
      Effect.gen(function*() {
        const created = yield* openrouter.tool.create("spender")
        fake.keys.get(created.resourceId)!.usage = 4.5
        const credits = yield* openrouter.keyCredits(created.resourceId)
        assert.deepStrictEqual(credits, { limit: 20, usage: 4.5, remaining: 15.5, limitReset: "monthly", disabled: false })
        const toppedUp = yield* openrouter.setKeyLimit(created.resourceId, 40)
        assert.strictEqual(toppedUp.remaining, 35.5)
        assert.strictEqual(fake.keys.get(created.resourceId)!.limit, 40)
        const refused = yield* Effect.flip(openrouter.setKeyLimit(created.resourceId, -1))
        assert.isFalse(refused.retryable)
        assert.strictEqual(fake.count(`PATCH /api/v1/keys/${created.resourceId}`), 1)
        const account = yield* openrouter.accountCredits
        assert.deepStrictEqual(account, { totalCredits: 500, totalUsage: 4.5 })
      })
    ))

  it.live("a wrong management key fails without retrying and without echoing the key", () =>
    withOpenRouter(({ tool }) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(tool.create("nokey"))
        assert.isFalse(error.retryable)
        assert.match(error.message, /HTTP 401/)
        assert.notInclude(JSON.stringify(error), "wrong-key-secret")
        assert.strictEqual(fake.count("GET /api/v1/keys"), 1)
      }), { managementKey: Redacted.make("wrong-key-secret") }))
})
