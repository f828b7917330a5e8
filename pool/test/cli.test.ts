import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { TestDatabaseLayer } from "../../test/db/testDatabase.ts"
import { freePort } from "../../test/net/freePort.ts"
import { Pool } from "../src/Pool.ts"
import { baseUrl, serveApi, testApiKey } from "./support/httpHarness.ts"
import { makeDataDir, poolLayer } from "./support/poolHarness.ts"
import { waitFor } from "../../test/waitFor.ts"

const cli = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url))

/** `npm run pool -- …` as an operator runs it: its exit code and what it printed. */
const runCli = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  Effect.promise(() =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ["--import", "tsx", cli, ...args], {
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
        timeout: 60_000,
      }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }))
    })
  )

const withApi = <A, E>(body: (url: string) => Effect.Effect<A, E, Pool>) =>
  Effect.gen(function*() {
    const { dir, cleanup } = makeDataDir()
    yield* Effect.addFinalizer(() => Effect.sync(cleanup))
    const layer = serveApi(poolLayer({ dataDir: dir }).pipe(Layer.provide(TestDatabaseLayer())))
    return yield* Effect.gen(function*() {
      return yield* body(yield* baseUrl)
    }).pipe(Effect.provide(layer))
  }).pipe(Effect.scoped)

describe("the operator CLI, a typed client of the pool's API", () => {
  it.live("status, replenish and kill go through the API; a refused request is one line with its status", () =>
    withApi((url) =>
      Effect.gen(function*() {
        const env = { POOL_URL: url, POOL_API_KEY: testApiKey }
        const empty = yield* runCli(["status"], env)
        assert.strictEqual(empty.code, 0, empty.stderr)
        assert.include(empty.stdout, "no instances")

        const replenish = yield* runCli(["replenish", "1"], env)
        assert.strictEqual(replenish.code, 0, replenish.stderr)
        assert.match(replenish.stdout, /creating 1 instance\(s\): \S+/)
        const pool = yield* Pool
        yield* waitFor("1 idle", Effect.map(pool.counts, (c) => c.idle === 1 ? true : undefined), "60 seconds")
        const status = yield* runCli(["status"], env)
        assert.match(status.stdout, /1 idle/)

        const unknown = yield* runCli(["kill", "no-such-instance"], env)
        assert.strictEqual(unknown.code, 1)
        assert.strictEqual(unknown.stderr.trim(), "error 404: Instance not found")

        const wrongKey = yield* runCli(["status"], { POOL_URL: url, POOL_API_KEY: "wrong-key" })
        assert.strictEqual(wrongKey.code, 1)
        assert.match(wrongKey.stderr.trim(), /^error 401: /)

        const badCount = yield* runCli(["drain", "many"], env)
        assert.strictEqual(badCount.code, 1)
        assert.strictEqual(badCount.stderr.trim(), "not a count: many")
      })
    ), 120_000) // six CLI processes, each starting tsx: a loaded machine takes seconds for each

  it.live("an unreachable pool is named, with what to do about it", () =>
    Effect.gen(function*() {
      const url = `http://127.0.0.1:${yield* Effect.promise(freePort)}`
      const result = yield* runCli(["status"], { POOL_URL: url, POOL_API_KEY: "k" })
      assert.strictEqual(result.code, 1)
      assert.strictEqual(result.stderr.trim(), `cannot reach the pool at ${url} (is it running? set POOL_URL)`)
    }), 60_000)
})
