/**
 * The pool with its web page on a random loopback port, over real PostgreSQL and the test host: for the browser
 * tests, the screenshots script and `npm run bench:web`.
 */
import { ConfigProvider, Effect, Layer, ManagedRuntime } from "effect"
import { HttpServer } from "effect/http"
import { HttpServerLayer } from "../../src/http/Server.ts"
import { Pool } from "../../src/Pool.ts"
import type { PoolSettings } from "../../src/PoolConfig.ts"
import { TestDatabaseLayer } from "../../../test/db/testDatabase.ts"
import { testApiKey } from "./httpHarness.ts"
import { makeDataDir, poolLayer } from "./poolHarness.ts"

export interface WebServer {
  readonly base: string
  readonly dataDir: string
  readonly runtime: ManagedRuntime.ManagedRuntime<Pool, unknown>
  readonly stop: () => Promise<void>
}

export const startWebServer = async (options: {
  readonly env?: Record<string, string>
  readonly settings?: Partial<PoolSettings>
} = {}): Promise<WebServer> => {
  const data = makeDataDir()
  const layer = HttpServerLayer({ port: 0 }).pipe(
    Layer.provideMerge(poolLayer({ dataDir: data.dir, ...(options.settings ? { settings: options.settings } : {}) })),
    Layer.provide(TestDatabaseLayer()),
    Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ POOL_API_KEY: testApiKey, ...options.env }))),
  )
  const runtime = ManagedRuntime.make(layer)
  const base = await runtime.runPromise(Effect.map(HttpServer.HttpServer, (server) => {
    const address = server.address
    return address._tag === "UnixPathAddress" ? "" : `http://127.0.0.1:${address.port}`
  }))
  return {
    base,
    dataDir: data.dir,
    runtime: runtime as ManagedRuntime.ManagedRuntime<Pool, unknown>,
    stop: async () => {
      await runtime.dispose()
      data.cleanup()
    },
  }
}
