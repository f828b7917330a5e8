import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { Instances } from "../src/db/Instances.ts"
import { InstanceTokens } from "../src/InstanceTokens.ts"
import { Pool } from "../src/Pool.ts"
import type { PoolSettings } from "../src/PoolConfig.ts"
import { TestDatabaseLayer } from "../../test/db/testDatabase.ts"
import { makeFakeTool } from "../../test/fakes/fakeTool.ts"
import { api, baseUrl, serveApi, testApiKey } from "./support/httpHarness.ts"
import { makeDataDir, poolLayer } from "./support/poolHarness.ts"
import { waitFor } from "../../test/waitFor.ts"

const withApi = <A, E>(
  idle: number,
  body: (call: ReturnType<typeof api>) => Effect.Effect<A, E, Pool | Instances | InstanceTokens>,
  settings: Partial<PoolSettings> = {},
) =>
  Effect.gen(function*() {
    const { dir, cleanup } = makeDataDir()
    yield* Effect.addFinalizer(() => Effect.sync(cleanup))
    const llm = makeFakeTool("llm", "OPENROUTER_API_KEY")
    const layer = serveApi(poolLayer({ dataDir: dir, settings, tools: [llm.provider] }).pipe(Layer.provide(TestDatabaseLayer())))
    return yield* Effect.gen(function*() {
      const pool = yield* Pool
      if (idle > 0) {
        yield* pool.replenish(idle)
        yield* waitFor(`${idle} idle`, Effect.map(pool.counts, (c) => c.idle === idle ? true : undefined), "150 seconds")
      }
      return yield* body(api(yield* baseUrl))
    }).pipe(Effect.provide(layer))
  }).pipe(Effect.scoped)

/**
 * No field that names a secret, and no secret value (the fake LLM keys are `secret-llm-…`, the token secret is
 * `test-secret`). Field names and values are checked apart: a random invite or id may well contain "hash".
 */
const assertNoSecret = (json: unknown, where = "$"): void => {
  if (typeof json === "string") {
    assert.notMatch(json, /secret-llm|test-secret|OPENROUTER_API_KEY/, `${where} holds a secret value`)
  } else if (Array.isArray(json)) {
    json.forEach((item, i) => assertNoSecret(item, `${where}[${i}]`))
  } else if (json !== null && typeof json === "object") {
    for (const [key, value] of Object.entries(json)) {
      assert.notMatch(key, /token|secret|hash|compute_?ref|api_?key/i, `${where} has a secret field`)
      assertNoSecret(value, `${where}.${key}`)
    }
  }
}

describe("HTTP API", () => {
  it.live("200 concurrent claims against 50 idle slots at the total: exactly 50 succeed on 50 distinct slots, 150 clean 503s", () =>
    withApi(50, (call) =>
      Effect.gen(function*() {
        const responses = yield* Effect.promise(() =>
          Promise.all(Array.from({ length: 200 }, (_, i) =>
            call("POST", "/api/pool/claim", { body: { agentName: `Agent ${i}`, instructions: "Be helpful." } })))
        )
        const ok = responses.filter((r) => r.status === 200)
        const unavailable = responses.filter((r) => r.status === 503)
        assert.strictEqual(ok.length, 50)
        assert.strictEqual(unavailable.length, 150)
        assert.strictEqual(new Set(ok.map((r) => r.json.instanceId)).size, 50)
        for (const r of unavailable) {
          assert.strictEqual(r.json.error, "No idle instances available. Try again in a few minutes.")
        }
        for (const r of ok) assertNoSecret(r.json)
        const counts = yield* Effect.promise(() => call("GET", "/api/pool/counts", { key: null }))
        assert.strictEqual(counts.json.claimed, 50)
      }), { maxTotal: 50 }), 180_000)

  it.live("status shows each host's capacity, slots and compute kind; a host drains over HTTP, an unknown one is a 404", () =>
    withApi(2, (call) =>
      Effect.gen(function*() {
        const status = yield* Effect.promise(() => call("GET", "/api/pool/status"))
        assert.strictEqual(status.status, 200)
        assert.strictEqual(status.json.hosts.length, 1)
        const [host] = status.json.hosts
        assert.deepInclude(host, { status: "ready", draining: false, computeKind: "local", capacity: 8, slots: 2, idle: 2, used: 0, starting: 0 })
        assert.isTrue(status.json.instances.every((i: { hostId: string }) => i.hostId === host.id))
        assertNoSecret(status.json)
        const unknown = yield* Effect.promise(() => call("POST", "/api/pool/hosts/nohost123/drain"))
        assert.strictEqual(unknown.status, 404)
        assert.strictEqual(unknown.json.error, "Host not found")
        const drained = yield* Effect.promise(() => call("POST", `/api/pool/hosts/${host.id}/drain`))
        assert.strictEqual(drained.status, 200)
        assert.strictEqual(drained.json.drained.length, 2)
        const after = yield* Effect.promise(() => call("GET", "/api/pool/status"))
        assert.deepStrictEqual(after.json.hosts, [], "the drained host had no agent left, so it is gone")
      })), 60_000)

  it.live("every non-public route answers 401 without the key, and no response carries a secret", () =>
    withApi(2, (call) =>
      Effect.gen(function*() {
        const routes: Array<[string, string]> = [
          ["POST", "/api/pool/claim"],
          ["GET", "/api/pool/claim/stream"],
          ["GET", "/api/pool/status"],
          ["POST", "/api/pool/replenish"],
          ["POST", "/api/pool/drain"],
          ["POST", "/api/pool/hosts/abc/drain"],
          ["POST", "/api/pool/reconcile"],
          ["DELETE", "/api/pool/instances/abc"],
          ["POST", "/api/pool/instances/abc/configure"],
        ]
        for (const [method, path] of routes) {
          for (const key of [null, "wrong-key", `${testApiKey}x`]) {
            const r = yield* Effect.promise(() => call(method, path, { key, body: method === "POST" ? {} : undefined }))
            assert.strictEqual(r.status, 401, `${method} ${path} with ${key}`)
            assert.isString(r.json.error)
          }
        }
        const claimed = yield* Effect.promise(() => call("POST", "/api/pool/claim", { body: { agentName: "Chef" } }))
        assert.strictEqual(claimed.status, 200)
        const everything = yield* Effect.promise(() =>
          Promise.all([
            call("GET", "/api/pool/status"),
            call("GET", "/api/pool/counts", { key: null }),
            call("GET", "/api/pool/templates", { key: null }),
            call("GET", "/healthz", { key: null }),
            call("GET", "/version", { key: null }),
            call("GET", "/api/openapi.json", { key: null }),
          ])
        )
        for (const r of everything) {
          assert.strictEqual(r.status, 200)
          assert.notMatch(r.text.replace(/"securitySchemes".*?}}/s, ""), /secret-llm|test-secret/, "no secret value")
        }
        const status = everything[0]!.json
        assert.strictEqual(status.instances.length, 2)
        for (const instance of status.instances) {
          assert.notProperty(instance, "tokenHash")
          assert.notProperty(instance, "token_hash")
          assert.notProperty(instance, "computeRef")
          assertNoSecret(instance)
        }
      })), 60_000)

  it.live("bad bodies get 400 with a clear message and change nothing", () =>
    withApi(1, (call) =>
      Effect.gen(function*() {
        const cases: Array<[string, { body?: unknown; rawBody?: string }, RegExp]> = [
          ["wrong type", { body: { agentName: 42 } }, /agentName/],
          ["unknown field", { body: { agentName: "A", colour: "red" } }, /Unknown field: colour/],
          ["non-JSON", { rawBody: "{not json" }, /not valid JSON/],
          ["array", { rawBody: "[1,2]" }, /JSON object/],
          ["huge", { body: { instructions: "x".repeat(200_000) } }, /too large/],
          ["too long instructions", { body: { instructions: "x".repeat(20_000) } }, /instructions must be at most/],
          ["empty name", { body: { agentName: "   " } }, /agentName must not be empty/],
          ["not a URL", { body: { joinUrl: "hello" } }, /Convos invite URL/],
          ["other host", { body: { joinUrl: "https://evil.example/v2?i=abc" } }, /Convos invite URL/],
          ["production invite on dev", { body: { joinUrl: "https://popup.convos.org/v2?i=abc" } }, /production invite/],
          ["no invite code", { body: { joinUrl: "https://dev.convos.org/v2" } }, /no invite code/],
          ["unknown skill", { body: { skills: ["web", "teleport"] } }, /skills/],
          ["repeated skill", { body: { skills: ["web", "web"] } }, /skills must not repeat/],
        ]
        for (const [name, request, message] of cases) {
          const r = yield* Effect.promise(() => call("POST", "/api/pool/claim", request))
          assert.strictEqual(r.status, 400, name)
          assert.match(r.json?.error ?? r.text, message, name)
        }
        const counts = yield* Effect.promise(() => call("GET", "/api/pool/counts", { key: null }))
        assert.strictEqual(counts.json.idle, 1, "nothing was claimed")
        assert.strictEqual(counts.json.claiming, 0)
        const unknown = yield* Effect.promise(() => call("GET", "/api/pool/nope"))
        assert.strictEqual(unknown.status, 404)
        assert.match(unknown.json.error, /No route for GET \/api\/pool\/nope/)
        const drain = yield* Effect.promise(() => call("POST", "/api/pool/drain", { body: { count: 0 } }))
        assert.strictEqual(drain.status, 400)
        const selfDestruct = yield* Effect.promise(() =>
          call("POST", "/api/pool/self-destruct", { key: null, body: { instanceId: "x", token: "y" } })
        )
        assert.strictEqual(selfDestruct.status, 403)
      })), 60_000)

  it.live("every text field is checked on every path before anything changes: HTTP, the instance routes and in-process claims", () =>
    withApi(2, (call) =>
      Effect.gen(function*() {
        const pool = yield* Pool
        const claims: Array<[string, { body?: unknown; headers?: Record<string, string> }, RegExp]> = [
          ["ANSI escape in the name", { body: { agentName: "\u001b[31mEvil" } }, /agentName must be one line/],
          ["bidi override in the name", { body: { agentName: "abc\u202Edef" } }, /agentName must be one line/],
          ["zero-width in the name", { body: { agentName: "a\u200bb" } }, /agentName must be one line/],
          ["NUL in the instructions", { body: { instructions: "be nice\u0000" } }, /NUL/],
          ["a convos: URL that is no invite", { body: { joinUrl: "convos:x" } }, /Convos invite URL/],
          ["an app link without a slug", { body: { joinUrl: "convos://join/" } }, /Convos invite URL/],
          ["a slug that is no slug", { body: { joinUrl: "https://dev.convos.org/v2?i=%00%3Cx%3E" } }, /no valid invite code/],
        ]
        for (const [name, request, message] of claims) {
          const r = yield* Effect.promise(() => call("POST", "/api/pool/claim", request))
          assert.strictEqual(r.status, 400, name)
          assert.match(r.json?.error ?? r.text, message, name)
        }
        // The manager claims in process (PoolAgentPool → Pool.claim): the same rules hold there.
        const inProcess = yield* Effect.flip(pool.claim({ agentName: "\u001b[2JWipe", instructions: "x", mode: "create" }))
        assert.strictEqual(inProcess._tag, "InvalidRequest")

        // Unauthenticated instance routes: a NUL in an id is a clean refusal, never a server error.
        const selfDestruct = yield* Effect.promise(() =>
          call("POST", "/api/pool/self-destruct", { key: null, body: { instanceId: "a\u0000b", token: "t".repeat(40) } })
        )
        assert.deepStrictEqual([selfDestruct.status, selfDestruct.json?.error], [403, "Invalid instance ID or token"])
        const joined = yield* Effect.promise(() =>
          call("POST", "/api/pool/joined", { key: null, body: { instanceId: "abcdef", token: "t", conversationId: "\u0000" } })
        )
        assert.strictEqual(joined.status, 400, joined.text)
        assert.isString(joined.json?.error)
        const nulPath = yield* Effect.promise(() => call("POST", "/api/pool/instances/a%00b/configure", { body: { agentName: "A" } }))
        assert.deepStrictEqual([nulPath.status, nulPath.json?.error], [404, "Instance not found"])
        const nulKill = yield* Effect.promise(() => call("DELETE", "/api/pool/instances/a%00b"))
        assert.deepStrictEqual([nulKill.status, nulKill.json?.error], [404, "Instance not found"])

        // configure: refused before the instance hears of it, on both paths; the agent and its row keep the old text.
        const claimed = yield* pool.claim({ agentName: "Chef", instructions: "Cook.", mode: "create" })
        const viaHttp = yield* Effect.promise(() =>
          call("POST", `/api/pool/instances/${claimed.instanceId}/configure`, { body: { instructions: "x\u0000y" } })
        )
        assert.strictEqual(viaHttp.status, 400)
        const viaChat = yield* Effect.flip(pool.reconfigure(claimed.instanceId, { agentName: "Chef\u0007" }))
        assert.strictEqual(viaChat._tag, "InvalidRequest")
        const row = (yield* pool.list).find((r) => r.id === claimed.instanceId)!
        assert.deepStrictEqual([row.agent_name, row.instructions], ["Chef", "Cook."])
        const counts = yield* pool.counts
        assert.deepStrictEqual([counts.claimed, counts.idle], [1, 1], "only the one good claim changed anything")
      })), 60_000)

  it.live("one error shape and one bearer rule on every route: JSON {error}, scheme case-insensitive (issue 14 #10)", () =>
    withApi(1, (call) =>
      Effect.gen(function*() {
        const pool = yield* Pool
        const claimed = yield* pool.claim({ agentName: "Chef", instructions: "Cook.", mode: "create" })
        const token = Redacted.value((yield* InstanceTokens).tokenFor(claimed.instanceId))
        const as = (scheme: string, extra: Record<string, string> = {}) => ({
          key: null,
          headers: { authorization: `${scheme} ${token}`, "x-instance-id": claimed.instanceId, ...extra },
        })
        const get = (path: string, options: Parameters<ReturnType<typeof api>>[2]) =>
          Effect.promise(() => call("GET", path, options))

        const noHeader = yield* get("/api/tools/email/inbox", { key: null, headers: { authorization: `Bearer ${token}` } })
        assert.strictEqual(noHeader.status, 400)
        assert.strictEqual(noHeader.json?.error ?? "(empty body)", "Missing header: x-instance-id")
        const repeated = yield* get("/api/tools/email/inbox?limit=1&limit=2", as("Bearer"))
        assert.strictEqual(repeated.status, 400)
        assert.match(repeated.json?.error ?? "(empty body)", /limit/)
        const notANumber = yield* get("/api/tools/email/inbox?limit=abc", as("Bearer"))
        assert.deepStrictEqual([notANumber.status, notANumber.json?.error], [400, "limit must be a whole number"])
        for (const r of [noHeader, repeated, notANumber]) assert.notMatch(r.text, /SchemaError|\n\s+at /)

        // The instance's token opens its tool routes whatever the scheme's case, as the API key does on admin routes.
        const upper = yield* get("/api/tools/email/inbox", as("Bearer"))
        const lower = yield* get("/api/tools/email/inbox", as("bearer"))
        assert.notStrictEqual(upper.status, 403, upper.text)
        assert.deepStrictEqual([lower.status, lower.json], [upper.status, upper.json])
        const admin = yield* Effect.promise(() =>
          call("GET", "/api/pool/status", { key: null, headers: { authorization: `bEaReR ${testApiKey}` } })
        )
        assert.strictEqual(admin.status, 200)
        const wrong = yield* get("/api/tools/email/inbox", as("Basic"))
        assert.deepStrictEqual([wrong.status, typeof wrong.json?.error], [403, "string"])
      })), 60_000)

  it.live("configure renames a claimed agent; a bad body is 400, an unknown instance 404, an idle one 409", () =>
    withApi(2, (call) =>
      Effect.gen(function*() {
        const claimed = yield* Effect.promise(() => call("POST", "/api/pool/claim", { body: { agentName: "Chef" } }))
        const path = `/api/pool/instances/${claimed.json.instanceId}/configure`
        const renamed = yield* Effect.promise(() => call("POST", path, { body: { agentName: " Pastry Chef " } }))
        assert.deepStrictEqual([renamed.status, renamed.json], [200, { instanceId: claimed.json.instanceId, agentName: "Pastry Chef" }])
        const bad: Array<[unknown, RegExp]> = [
          [{}, /give agentName, instructions or both/],
          [{ agentName: "" }, /agentName must not be empty/],
          [{ instructions: "x".repeat(10_001) }, /instructions must be at most/],
          [{ agentName: "A", colour: "red" }, /Unknown field: colour/],
        ]
        for (const [body, message] of bad) {
          const r = yield* Effect.promise(() => call("POST", path, { body }))
          assert.strictEqual(r.status, 400, JSON.stringify(body))
          assert.match(r.json.error, message)
        }
        const unknown = yield* Effect.promise(() => call("POST", "/api/pool/instances/nope/configure", { body: { agentName: "A" } }))
        assert.deepStrictEqual([unknown.status, unknown.json.error], [404, "Instance not found"])
        const status = yield* Effect.promise(() => call("GET", "/api/pool/status"))
        const idle = status.json.instances.find((i: { status: string }) => i.status === "idle")
        const notClaimed = yield* Effect.promise(() => call("POST", `/api/pool/instances/${idle.id}/configure`, { body: { agentName: "A" } }))
        assert.strictEqual(notClaimed.status, 409)
        assert.match(notClaimed.json.error, /Only an agent that has been claimed/)
        const listed = status.json.instances.find((i: { id: string }) => i.id === claimed.json.instanceId)
        assert.strictEqual(listed.agentName, "Pastry Chef")
      })), 60_000)

  it.live("the same Idempotency-Key over HTTP returns the first claim's instance", () =>
    withApi(2, (call) =>
      Effect.gen(function*() {
        const headers = { "idempotency-key": "launch-42" }
        const [a, b] = yield* Effect.promise(() =>
          Promise.all([
            call("POST", "/api/pool/claim", { body: { agentName: "Chef" }, headers }),
            call("POST", "/api/pool/claim", { body: { agentName: "Chef" }, headers }),
          ])
        )
        assert.strictEqual(a.status, 200)
        assert.strictEqual(b.status, 200)
        assert.strictEqual(a.json.instanceId, b.json.instanceId)
      })), 60_000)

  it.live("the claim stream sends progress steps, then the result", () =>
    withApi(1, (call) =>
      Effect.gen(function*() {
        const r = yield* Effect.promise(() => call("GET", "/api/pool/claim/stream?agentName=Chef"))
        assert.strictEqual(r.status, 200)
        const events = r.text.split("\n\n").filter(Boolean).map((e) => JSON.parse(e.replace(/^data: /, "")))
        assert.deepStrictEqual(events.filter((e) => e.type === "step").map((e) => `${e.step}:${e.status}`), [
          "claim:active",
          "claim:ok",
          "provision:active",
          "provision:ok",
          "convo:ok",
        ])
        const last = events.at(-1)
        assert.strictEqual(last.type, "complete")
        assert.isTrue(last.ok)
        assert.strictEqual(last.agentName, "Chef")
      })), 60_000)
})
