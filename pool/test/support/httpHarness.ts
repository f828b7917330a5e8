import { ConfigProvider, Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import { HttpServerLayer } from "../../src/http/Server.ts"

export const testApiKey = "test-api-key-0123456789"

/** The pool's HTTP API on a random loopback port, over a given pool layer; yields its base URL. */
export const serveApi = <E, R>(poolLayer: Layer.Layer<R, E>) =>
  HttpServerLayer({ port: 0 }).pipe(
    Layer.provideMerge(poolLayer),
    Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ POOL_API_KEY: testApiKey }))),
  )

export const baseUrl = Effect.map(HttpServer.HttpServer, (server) => {
  const address = server.address
  return address._tag === "UnixPathAddress" ? "" : `http://127.0.0.1:${address.port}`
})

export const api = (base: string) => async (
  method: string,
  path: string,
  options: { body?: unknown; rawBody?: string; key?: string | null; headers?: Record<string, string> } = {},
) => {
  const headers: Record<string, string> = { ...options.headers }
  if (options.key !== null) headers.authorization = `Bearer ${options.key ?? testApiKey}`
  if (options.body !== undefined || options.rawBody !== undefined) headers["content-type"] = "application/json"
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(options.rawBody !== undefined
      ? { body: options.rawBody }
      : options.body !== undefined
      ? { body: JSON.stringify(options.body) }
      : {}),
  })
  const text = await response.text()
  let json: any = undefined
  try {
    json = JSON.parse(text)
  } catch {
    // not JSON; the test looks at `text`
  }
  return { status: response.status, json, text }
}
