/**
 * The agents' email and SMS, as the supervisor forwards them. The gateway (and so every agent) never holds a slot
 * token: the convos plugin calls this loopback-only server with the gateway token at `/tools/<slotId>/…` (the slot
 * bound from the calling agent's account, never chosen by the model), and the supervisor, which holds each slot's token
 * and the pool URL, forwards the call to the pool's tool routes (docs/api.md) as that slot and passes the answer back.
 * A separate server from the host routes, because those may listen on 0.0.0.0.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { bearerMatches, readBody, sendJson as send } from "./jsonHttp.ts"

/** What the supervisor forwards with: the pool and one slot's credentials. */
export interface PoolCredentials {
  readonly poolUrl: string | undefined
  readonly instanceId: string
  readonly instanceToken: string
}

export interface ToolForwardingOptions {
  /** The gateway token: the only credential the plugin has, and the only one accepted here. */
  readonly gatewayToken: string
  readonly poolUrl: string | undefined
  /** The token of a slot this host holds, or undefined. */
  readonly slotToken: (slotId: string) => string | undefined
  /** How long the pool may take to answer (an email send waits on the provider). */
  readonly timeoutMs?: number
}

/** The pool request a plugin request stands for. */
export interface PoolToolRequest {
  readonly method: "GET" | "POST"
  /** Path and query on the pool, starting with `/api/tools/`. */
  readonly path: string
  readonly hasBody: boolean
}

export interface RouteRefusal {
  readonly status: number
  readonly error: string
}

export const TOOL_FORWARDING_TIMEOUT_MS = 30_000

const POST_ROUTES: Readonly<Record<string, string>> = {
  "/tools/email/send": "/api/tools/email/send",
  "/tools/sms/send": "/api/tools/sms/send",
}
const MESSAGE_PREFIX = "/tools/email/messages/"
const SLOT_PREFIX = /^\/tools\/([a-z0-9]{6,32})(\/.*)$/

/** Pure: `/tools/<slotId>/email/send` → the slot and `/tools/email/send`, or undefined. */
export const slotOfToolPath = (url: string | undefined): { readonly slotId: string; readonly url: string } | undefined => {
  const parsed = new URL(url ?? "/", "http://loopback")
  const match = SLOT_PREFIX.exec(parsed.pathname)
  if (!match?.[1] || !match[2]) return undefined
  return { slotId: match[1], url: `/tools${match[2]}${parsed.search}` }
}

/**
 * Pure: the pool route for a plugin request, or why there is none. Only the routes below are forwarded, so the gateway
 * can reach nothing else on the pool with the instance's token; a message id is re-encoded as one path segment.
 */
export const poolRequestFor = (method: string | undefined, url: string | undefined): PoolToolRequest | RouteRefusal => {
  const parsed = new URL(url ?? "/", "http://loopback")
  const path = parsed.pathname
  const allowed = (expected: "GET" | "POST", request: PoolToolRequest): PoolToolRequest | RouteRefusal =>
    method === expected ? request : { status: 405, error: `${path} takes ${expected}` }
  const postTarget = POST_ROUTES[path]
  if (postTarget !== undefined) return allowed("POST", { method: "POST", path: postTarget, hasBody: true })
  if (path === "/tools/email/inbox") {
    const limit = parsed.searchParams.get("limit")
    const query = limit === null ? "" : `?limit=${encodeURIComponent(limit)}`
    return allowed("GET", { method: "GET", path: `/api/tools/email/inbox${query}`, hasBody: false })
  }
  if (path.startsWith(MESSAGE_PREFIX)) {
    let messageId: string
    try {
      messageId = decodeURIComponent(path.slice(MESSAGE_PREFIX.length))
    } catch {
      return { status: 400, error: "the message id is not validly encoded" }
    }
    // Dot segments ("..", "%2E%2E") never get here: URL parsing has already resolved them away.
    if (messageId === "") return { status: 400, error: "a message id is required" }
    return allowed("GET", { method: "GET", path: `/api/tools/email/messages/${encodeURIComponent(messageId)}`, hasBody: false })
  }
  return { status: 404, error: `no tool route ${path}` }
}

export const isRefusal = (value: PoolToolRequest | RouteRefusal): value is RouteRefusal => "error" in value

const isJson = (text: string): boolean => {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

const errorOf = (body: unknown): string | undefined =>
  typeof body === "object" && body !== null && "error" in body && typeof body.error === "string" ? body.error : undefined

/** Calls the pool as this instance; never throws. A failure answers `{error}` with the pool's status, 502 or 504. */
export const forwardToPool = async (
  request: PoolToolRequest,
  body: string | undefined,
  pool: PoolCredentials & { readonly poolUrl: string },
  timeoutMs: number,
): Promise<{ readonly status: number; readonly body: unknown }> => {
  let response: Response
  try {
    response = await fetch(`${pool.poolUrl}${request.path}`, {
      method: request.method,
      headers: {
        authorization: `Bearer ${pool.instanceToken}`,
        "x-instance-id": pool.instanceId,
        accept: "application/json",
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body }),
      signal: AbortSignal.timeout(timeoutMs),
    })
  } catch (error) {
    return error instanceof Error && error.name === "TimeoutError"
      ? { status: 504, body: { error: `the pool did not answer within ${timeoutMs / 1000} s` } }
      : { status: 502, body: { error: "could not reach the pool" } }
  }
  let answer: unknown
  try {
    answer = JSON.parse(await response.text())
  } catch {
    return { status: response.ok ? 502 : response.status, body: { error: `the pool answered ${response.status} without JSON` } }
  }
  if (response.ok) return { status: response.status, body: answer }
  return { status: response.status, body: { error: errorOf(answer) ?? `the pool answered ${response.status}` } }
}

export const handleToolRequest = async (req: IncomingMessage, res: ServerResponse, options: ToolForwardingOptions): Promise<void> => {
  if (!bearerMatches(req.headers.authorization, options.gatewayToken)) return send(res, 401, { error: "missing or wrong gateway token" })
  const slot = slotOfToolPath(req.url)
  if (slot === undefined) return send(res, 404, { error: "tool routes are /tools/<slotId>/…" })
  const instanceToken = options.slotToken(slot.slotId)
  if (instanceToken === undefined) return send(res, 404, { error: `no slot ${slot.slotId} on this host` })
  const request = poolRequestFor(req.method, slot.url)
  if (isRefusal(request)) return send(res, request.status, { error: request.error })
  let body: string | undefined
  if (request.hasBody) {
    const read = await readBody(req)
    if ("error" in read) return send(res, read.status, { error: read.error })
    if (!isJson(read.text)) return send(res, 400, { error: "body is not valid JSON" })
    body = read.text
  }
  const { poolUrl } = options
  if (poolUrl === undefined) return send(res, 503, { error: "this agent has no pool to send through (POOL_URL is not set)" })
  const answer = await forwardToPool(request, body, { poolUrl, instanceId: slot.slotId, instanceToken }, options.timeoutMs ?? TOOL_FORWARDING_TIMEOUT_MS)
  return send(res, answer.status, answer.body)
}

/** Serves the tool routes on 127.0.0.1 at a free port; `url` is what the gateway gets as CONVOS_TOOLS_URL. */
export const startToolForwardingServer = (options: ToolForwardingOptions): Promise<{ readonly server: Server; readonly url: string }> =>
  new Promise((resolve, reject) => {
    const server = createServer((req, res) => {
      handleToolRequest(req, res, options).catch(() => {
        if (!res.headersSent) send(res, 500, { error: "internal error while forwarding" })
      })
    })
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }))
  })
