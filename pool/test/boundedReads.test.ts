import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Redacted } from "effect"
import { FetchHttpClient, HttpClient } from "effect/http"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { InstanceClient } from "../src/InstanceClient.ts"
import { makeRest } from "../src/resources/providerRest.ts"

/** A peer that answers 200 and then streams an endless JSON-looking body, 64 KiB at a time, as fast as it is read. */
const endlessPeer = Effect.acquireRelease(
  Effect.promise(() =>
    new Promise<{ server: Server; url: string; sent: () => number }>((resolve) => {
      let sent = 0
      const chunk = Buffer.alloc(64 * 1024, "a")
      const server = createServer((_req, res) => {
        res.writeHead(200, { "content-type": "application/json" })
        res.write("{\"pad\":\"")
        const pump = () => {
          while (!res.destroyed && res.write(chunk)) sent += chunk.length
          if (!res.destroyed) res.once("drain", pump)
        }
        res.on("close", () => res.removeAllListeners("drain"))
        pump()
      })
      server.listen(0, "127.0.0.1", () =>
        resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, sent: () => sent }))
    })
  ),
  ({ server }) => Effect.promise(() => new Promise<void>((done) => server.close(() => done()))).pipe(
    Effect.andThen(Effect.sync(() => server.closeAllConnections())),
  ),
)

describe("reads from instances and providers are capped (issue 14 #6)", () => {
  it.live("a slot that streams an endless health answer is refused after the cap, long before the time limit", () =>
    Effect.gen(function*() {
      const peer = yield* endlessPeer
      const client = yield* InstanceClient
      const started = Date.now()
      const error = yield* Effect.flip(client.health(peer.url, "slot0001", Redacted.make("t".repeat(40))))
      assert.match(error.message, /larger than 1048576 bytes/)
      assert.isBelow(Date.now() - started, 5_000, "refused at the cap, not at the 30 s timeout")
      assert.isBelow(peer.sent(), 16 * 1024 * 1024, "the download was cancelled, not read to the end")
    }).pipe(
      Effect.provide(InstanceClient.layer.pipe(
        Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ POOL_HEALTH_TIMEOUT: "30 seconds" }))),
      )),
      Effect.scoped,
    ), 30_000)

  it.live("a provider that streams an endless answer is refused after the cap", () =>
    Effect.gen(function*() {
      const peer = yield* endlessPeer
      const rest = makeRest(yield* HttpClient.HttpClient, {
        baseUrl: peer.url,
        key: Redacted.make("master-key"),
        requestTimeout: "30 seconds",
      })
      const started = Date.now()
      const error = yield* Effect.flip(rest("list keys", { method: "GET", path: "/keys" }))
      assert.match(error.message, /larger than 4194304 bytes/)
      assert.isBelow(Date.now() - started, 10_000)
    }).pipe(Effect.provide(FetchHttpClient.layer), Effect.scoped), 30_000)
})
