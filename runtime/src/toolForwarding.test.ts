import { createServer, type IncomingHttpHeaders, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterEach, describe, expect, it } from "vitest"
import { isRefusal, poolRequestFor, startToolForwardingServer, type ToolForwardingOptions } from "./toolForwarding.ts"

const gatewayToken = "gateway-token-0123456789abcdef"
const instanceToken = "instance-token-0123456789abcdef"

describe("poolRequestFor", () => {
  it("maps each tool route to its pool route", () => {
    expect(poolRequestFor("POST", "/tools/email/send")).toEqual({ method: "POST", path: "/api/tools/email/send", hasBody: true })
    expect(poolRequestFor("POST", "/tools/sms/send")).toEqual({ method: "POST", path: "/api/tools/sms/send", hasBody: true })
    expect(poolRequestFor("GET", "/tools/email/inbox")).toEqual({ method: "GET", path: "/api/tools/email/inbox", hasBody: false })
    expect(poolRequestFor("GET", "/tools/email/inbox?limit=5&other=x")).toEqual({ method: "GET", path: "/api/tools/email/inbox?limit=5", hasBody: false })
    expect(poolRequestFor("GET", "/tools/email/messages/%3Cm1%40x%3E")).toEqual({
      method: "GET",
      path: "/api/tools/email/messages/%3Cm1%40x%3E",
      hasBody: false,
    })
  })

  it("keeps a message id inside one path segment of the messages route", () => {
    expect(poolRequestFor("GET", "/tools/email/messages/a%2F..%2F..%2Fpool%2Fclaim")).toMatchObject({
      path: "/api/tools/email/messages/a%2F..%2F..%2Fpool%2Fclaim",
    })
    expect(poolRequestFor("GET", "/tools/email/messages/a/b")).toMatchObject({ path: "/api/tools/email/messages/a%2Fb" })
    expect(poolRequestFor("GET", "/tools/email/messages/")).toEqual({ status: 400, error: "a message id is required" })
    // Dot segments resolve against this server's own routes, never into another pool route.
    expect(poolRequestFor("GET", "/tools/email/messages/..")).toEqual({ status: 404, error: "no tool route /tools/email/" })
    expect(poolRequestFor("GET", "/tools/email/messages/%2E%2E")).toEqual({ status: 404, error: "no tool route /tools/email/" })
    expect(poolRequestFor("GET", "/tools/email/messages/x/../../send")).toEqual({ status: 405, error: "/tools/email/send takes POST" })
    expect(poolRequestFor("GET", "/tools/email/messages/%E0%A4%A")).toEqual({ status: 400, error: "the message id is not validly encoded" })
  })

  it("refuses anything else: a wrong method is 405, another path 404", () => {
    expect(poolRequestFor("GET", "/tools/email/send")).toEqual({ status: 405, error: "/tools/email/send takes POST" })
    expect(poolRequestFor("POST", "/tools/email/inbox")).toEqual({ status: 405, error: "/tools/email/inbox takes GET" })
    for (const path of ["/api/pool/self-destruct", "/tools/email", "/pool/health"]) {
      const refusal = poolRequestFor("POST", path)
      expect(isRefusal(refusal) && refusal.status).toBe(404)
    }
  })
})

interface SeenByPool {
  readonly method: string
  readonly url: string
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

const servers: Array<Server> = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))))
})

const listen = async (server: Server): Promise<string> => {
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** A stand-in for the pool's tool routes: records each request and answers as told. */
const startPool = async (answer: (seen: SeenByPool) => { status: number; body: string; delayMs?: number }) => {
  const seen: Array<SeenByPool> = []
  const url = await listen(
    createServer((req, res) => {
      const parts: Array<Buffer> = []
      req.on("data", (part: Buffer) => parts.push(part))
      req.on("end", () => {
        const request = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(parts).toString("utf8") }
        seen.push(request)
        const { status, body, delayMs } = answer(request)
        setTimeout(() => {
          res.writeHead(status, { "content-type": "application/json" })
          res.end(body)
        }, delayMs ?? 0)
      })
    }),
  )
  return { url, seen }
}

const otherToken = "other-slot-token-0123456789abcdef"
const slotTokens: Record<string, string> = { inst7abc: instanceToken, other0slot: otherToken }

/** Calls the forwarding server; `/tools/x` goes to `/tools/inst7abc/x` unless the path names a slot itself (`slot`). */
const startForwarding = async (poolUrl: string | undefined, overrides: Partial<ToolForwardingOptions> = {}) => {
  const { server, url } = await startToolForwardingServer({ gatewayToken, poolUrl, slotToken: (slotId) => slotTokens[slotId], ...overrides })
  servers.push(server)
  return async (method: string, path: string, options: { body?: string; auth?: string | null; slot?: string | null } = {}) => {
    const auth = options.auth === undefined ? `Bearer ${gatewayToken}` : options.auth
    const slot = options.slot === undefined ? "inst7abc" : options.slot
    const response = await fetch(`${url}${slot === null ? path : path.replace(/^\/tools\//, `/tools/${slot}/`)}`, {
      method,
      headers: { ...(auth === null ? {} : { authorization: auth }), "content-type": "application/json" },
      ...(options.body === undefined ? {} : { body: options.body }),
    })
    return { status: response.status, body: (await response.json()) as unknown }
  }
}

describe("tool forwarding server", () => {
  it("refuses a caller without the gateway token, or with another token, before calling the pool", async () => {
    const pool = await startPool(() => ({ status: 200, body: "{}" }))
    const call = await startForwarding(pool.url)
    expect(await call("GET", "/tools/email/inbox", { auth: null })).toEqual({ status: 401, body: { error: "missing or wrong gateway token" } })
    expect((await call("GET", "/tools/email/inbox", { auth: "Bearer wrong-token" })).status).toBe(401)
    expect((await call("GET", "/tools/email/inbox", { auth: `Bearer ${instanceToken}` })).status).toBe(401)
    expect(pool.seen).toEqual([])
  })

  it("forwards a send to the pool with the instance token and id, and passes the answer back", async () => {
    const pool = await startPool(() => ({ status: 200, body: JSON.stringify({ messageId: "m1", threadId: "t1" }) }))
    const call = await startForwarding(pool.url)
    const body = JSON.stringify({ to: "bob@example.com", subject: "Hi", text: "Hello" })
    expect(await call("POST", "/tools/email/send", { body })).toEqual({ status: 200, body: { messageId: "m1", threadId: "t1" } })
    expect(pool.seen).toHaveLength(1)
    expect(pool.seen[0]).toMatchObject({ method: "POST", url: "/api/tools/email/send", body })
    expect(pool.seen[0]?.headers).toMatchObject({
      authorization: `Bearer ${instanceToken}`,
      "x-instance-id": "inst7abc",
      "content-type": "application/json",
    })
    // The gateway's own credential stays with the supervisor.
    expect(JSON.stringify(pool.seen[0]?.headers)).not.toContain(gatewayToken)
  })

  it("forwards each slot's call with that slot's own token and id; an unknown slot or no slot is 404", async () => {
    const pool = await startPool(() => ({ status: 200, body: '{"messages":[]}' }))
    const call = await startForwarding(pool.url)
    await call("GET", "/tools/email/inbox", { slot: "other0slot" })
    await call("GET", "/tools/email/inbox")
    expect(pool.seen.map((s) => [s.headers.authorization, s.headers["x-instance-id"]])).toEqual([
      [`Bearer ${otherToken}`, "other0slot"],
      [`Bearer ${instanceToken}`, "inst7abc"],
    ])
    expect(await call("GET", "/tools/email/inbox", { slot: "nosuchslot" })).toEqual({ status: 404, body: { error: "no slot nosuchslot on this host" } })
    expect(await call("GET", "/tools/email/inbox", { slot: null })).toEqual({ status: 404, body: { error: "tool routes are /tools/<slotId>/…" } })
    expect(pool.seen).toHaveLength(2)
  })

  it("forwards reads as GETs with the limit and the encoded message id", async () => {
    const pool = await startPool((seen) => ({ status: 200, body: seen.url.includes("inbox") ? '{"messages":[]}' : '{"messageId":"<m1@x>","text":"hi"}' }))
    const call = await startForwarding(pool.url)
    expect(await call("GET", "/tools/email/inbox?limit=5")).toEqual({ status: 200, body: { messages: [] } })
    expect(await call("GET", `/tools/email/messages/${encodeURIComponent("<m1@x>")}`)).toEqual({ status: 200, body: { messageId: "<m1@x>", text: "hi" } })
    expect(pool.seen.map((s) => `${s.method} ${s.url} ${s.body === "" ? "(no body)" : s.body}`)).toEqual([
      "GET /api/tools/email/inbox?limit=5 (no body)",
      "GET /api/tools/email/messages/%3Cm1%40x%3E (no body)",
    ])
  })

  it("passes the pool's error status and message through", async () => {
    const pool = await startPool(() => ({ status: 429, body: JSON.stringify({ error: "instance inst-7 may send at most 30 texts per hour" }) }))
    const call = await startForwarding(pool.url)
    expect(await call("POST", "/tools/sms/send", { body: '{"to":"+15551234567","text":"hi"}' })).toEqual({
      status: 429,
      body: { error: "instance inst-7 may send at most 30 texts per hour" },
    })
  })

  it("answers {error} when the pool's answer is not JSON, keeping an error status", async () => {
    const pool = await startPool((seen) => ({ status: seen.url.includes("inbox") ? 500 : 200, body: "<html>oops</html>" }))
    const call = await startForwarding(pool.url)
    expect(await call("GET", "/tools/email/inbox")).toEqual({ status: 500, body: { error: "the pool answered 500 without JSON" } })
    expect(await call("POST", "/tools/sms/send", { body: "{}" })).toEqual({ status: 502, body: { error: "the pool answered 200 without JSON" } })
  })

  it("gives up on a slow pool with 504, and answers 502 when the pool is unreachable", async () => {
    const slow = await startPool(() => ({ status: 200, body: "{}", delayMs: 2_000 }))
    const callSlow = await startForwarding(slow.url, { timeoutMs: 200 })
    expect(await callSlow("GET", "/tools/email/inbox")).toEqual({ status: 504, body: { error: "the pool did not answer within 0.2 s" } })

    const gone = await startPool(() => ({ status: 200, body: "{}" }))
    const goneServer = servers.pop()
    await new Promise<void>((resolve) => goneServer?.close(() => resolve()))
    const callGone = await startForwarding(gone.url)
    expect(await callGone("GET", "/tools/email/inbox")).toEqual({ status: 502, body: { error: "could not reach the pool" } })
  })

  it("checks the body before calling the pool: JSON only, at most 64 KiB", async () => {
    const pool = await startPool(() => ({ status: 200, body: "{}" }))
    const call = await startForwarding(pool.url)
    expect(await call("POST", "/tools/email/send", { body: "{nope" })).toEqual({ status: 400, body: { error: "body is not valid JSON" } })
    const large = JSON.stringify({ to: "bob@example.com", subject: "Hi", text: "x".repeat(70_000) })
    expect((await call("POST", "/tools/email/send", { body: large })).status).toBe(413)
    expect(await call("GET", "/tools/unknown")).toEqual({ status: 404, body: { error: "no tool route /tools/unknown" } })
    expect(pool.seen).toEqual([])
  })

  it("answers 503 when the instance has no pool URL", async () => {
    const call = await startForwarding(undefined)
    expect(await call("GET", "/tools/email/inbox")).toEqual({
      status: 503,
      body: { error: "this agent has no pool to send through (POOL_URL is not set)" },
    })
  })
})
