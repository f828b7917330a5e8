/**
 * The loopback HTTP server under every fake provider API (Railway, OpenRouter, AgentMail, Telnyx): bearer auth, JSON
 * bodies, a log of every call, and fault injection.
 *
 *   fake.inject({ match: "POST /v0/inboxes", status: 503 })             // next matching call answers 503, untouched
 *   fake.inject({ match: "projectCreate", status: 500, after: true })   // the work is done, then 500 (ambiguous)
 *   fake.inject({ match: ..., delayMs: 2_000 })                        // answer late (client timeouts)
 *   fake.inject({ match: ..., status: 429, retryAfter: "0", times: 2 }) // rate limit twice
 *
 * A call's `key` is `METHOD /path` (path without query), or the GraphQL operation name for GraphQL fakes.
 * Nothing here touches the internet: servers listen on 127.0.0.1 only.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

export interface FakeCall {
  readonly key: string
  readonly method: string
  readonly path: string
  readonly query: URLSearchParams
  readonly body: unknown
  /** Request headers, lower-case names. */
  readonly headers: Readonly<Record<string, string>>
  /** The status the fake answered. */
  status: number
}

export interface Fault {
  /** A call key, or a predicate on the call. */
  readonly match: string | ((call: FakeCall) => boolean)
  /** Status to answer (default 500). */
  readonly status?: number
  /** Delay before answering, in ms (with no status: the real answer, late). */
  readonly delayMs?: number
  /** `Retry-After` header value for the faulty answer. */
  readonly retryAfter?: string
  /** Other headers of the faulty answer (e.g. Telnyx's `x-ratelimit-reset`). */
  readonly headers?: Readonly<Record<string, string>>
  /** Do the real work first, then answer the fault (or answer late): the client cannot know the call succeeded. */
  readonly after?: boolean
  /** Body of the faulty answer (default `{error: "injected <status>"}`): a malformed answer, say. */
  readonly body?: unknown
  /** How many matching calls this fault hits (default 1). */
  readonly times?: number
}

export interface FakeReply {
  readonly status: number
  readonly body?: unknown
  readonly headers?: Readonly<Record<string, string>>
}

export interface FakeRequest {
  readonly key: string
  readonly method: string
  readonly path: string
  readonly query: URLSearchParams
  readonly body: unknown
  readonly headers: Readonly<Record<string, string>>
}

export interface FakeHttpServer {
  readonly url: string
  readonly calls: ReadonlyArray<FakeCall>
  /** Number of calls with this key (or all calls). */
  count(key?: string): number
  inject(fault: Fault): void
  clearFaults(): void
  /** Forgets calls and faults (between tests). */
  reset(): void
  /** Most requests ever being answered at once since the last reset. */
  readonly maxInFlight: () => number
  close(): Promise<void>
}

const readBody = (request: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    request.on("error", reject)
  })

const send = (response: ServerResponse, reply: FakeReply) => {
  if (response.destroyed) return
  response.writeHead(reply.status, { "content-type": "application/json", ...reply.headers })
  response.end(reply.body === undefined ? "" : JSON.stringify(reply.body))
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export const startFakeHttp = async (options: {
  readonly token: string
  /** Names the call for matching (default `METHOD /path`). */
  readonly keyOf?: (request: Omit<FakeRequest, "key">) => string
  readonly handle: (request: FakeRequest) => FakeReply
  /** The answer to a wrong or missing bearer token (default HTTP 401 `{error}`). */
  readonly unauthorized?: FakeReply
}): Promise<FakeHttpServer> => {
  const calls: Array<FakeCall> = []
  let inFlight = 0
  let maxInFlight = 0
  let faults: Array<Fault & { remaining: number }> = []

  const takeFault = (call: FakeCall) => {
    const fault = faults.find((f) =>
      f.remaining > 0 && (typeof f.match === "string" ? f.match === call.key : f.match(call))
    )
    if (fault !== undefined) fault.remaining -= 1
    return fault
  }

  const server = createServer(async (request, response) => {
    inFlight += 1
    maxInFlight = Math.max(maxInFlight, inFlight)
    response.on("close", () => {
      inFlight -= 1
    })
    try {
      const url = new URL(request.url ?? "/", "http://127.0.0.1")
      const text = await readBody(request)
      let body: unknown = undefined
      if (text.length > 0) {
        try {
          body = JSON.parse(text)
        } catch {
          return send(response, { status: 400, body: { error: "body is not JSON" } })
        }
      }
      const headers = Object.fromEntries(
        Object.entries(request.headers).flatMap(([name, value]) => typeof value === "string" ? [[name, value]] : []),
      )
      const base = { method: request.method ?? "GET", path: decodeURIComponent(url.pathname), query: url.searchParams, body, headers }
      const call: FakeCall = { ...base, key: options.keyOf?.(base) ?? `${base.method} ${base.path}`, status: 0 }
      calls.push(call)
      if (request.headers.authorization !== `Bearer ${options.token}`) {
        const answer = options.unauthorized ?? { status: 401, body: { error: "unauthorized" } }
        call.status = answer.status
        return send(response, answer)
      }
      const fault = takeFault(call)
      if (fault?.after) {
        // The work happens now; the client hears about it late, or as a failure.
        const reply = options.handle(call)
        if (fault.delayMs !== undefined) await sleep(fault.delayMs)
        const answer = fault.status === undefined
          ? reply
          : { status: fault.status, body: { error: `injected ${fault.status} after the work` } }
        call.status = answer.status
        return send(response, answer)
      }
      if (fault?.delayMs !== undefined) await sleep(fault.delayMs)
      if (fault?.status !== undefined) {
        call.status = fault.status
        return send(response, {
          status: fault.status,
          body: fault.body ?? { error: `injected ${fault.status}` },
          headers: { ...fault.headers, ...(fault.retryAfter === undefined ? {} : { "retry-after": fault.retryAfter }) },
        })
      }
      const reply = options.handle(call)
      call.status = reply.status
      send(response, reply)
    } catch (error) {
      // A broken fake must fail the test loudly, not hang it.
      send(response, { status: 500, body: { error: `fake crashed: ${String(error)}` } })
    }
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    count: (key) => (key === undefined ? calls.length : calls.filter((call) => call.key === key).length),
    inject: (fault) => faults.push({ ...fault, remaining: fault.times ?? 1 }),
    clearFaults: () => {
      faults = []
    },
    reset: () => {
      faults = []
      calls.length = 0
      maxInFlight = inFlight
    },
    maxInFlight: () => maxInFlight,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

let sequence = 0
/** Ids unique within a test run, readable in failures. */
export const fakeId = (prefix: string) => `${prefix}_${(++sequence).toString(36).padStart(6, "0")}`
