/**
 * The plugin's control routes on the gateway port, used only by the supervisor (loopback, bearer gateway token).
 * The supervisor turns them into the instance contract (docs/instance-contract.md).
 */
import { timingSafeEqual, createHash } from "node:crypto"
import type { IncomingMessage, ServerResponse } from "node:http"
import type { ConvosInstance } from "./instance.ts"

export const CONTROL_PREFIX = "/convos/control"

const digest = (value: string) => createHash("sha256").update(value).digest()

/** Constant-time bearer check. */
export const isAuthorized = (header: string | undefined, token: string): boolean => {
  if (!header?.startsWith("Bearer ")) return false
  return timingSafeEqual(digest(header.slice("Bearer ".length)), digest(token))
}

const MAX_BODY = 64 * 1024

const readJson = (req: IncomingMessage): Promise<{ ok: true; value: unknown } | { ok: false; error: string }> =>
  new Promise((resolve) => {
    const parts: Array<Buffer> = []
    let size = 0
    req.on("data", (part: Buffer) => {
      size += part.length
      if (size <= MAX_BODY) parts.push(part)
    })
    req.on("end", () => {
      if (size > MAX_BODY) return resolve({ ok: false, error: "body too large" })
      const text = Buffer.concat(parts).toString("utf8")
      if (text.trim() === "") return resolve({ ok: true, value: {} })
      try {
        resolve({ ok: true, value: JSON.parse(text) })
      } catch {
        resolve({ ok: false, error: "body is not valid JSON" })
      }
    })
    req.on("error", () => resolve({ ok: false, error: "could not read body" }))
  })

const send = (res: ServerResponse, status: number, body: unknown) => {
  res.statusCode = status
  res.setHeader("content-type", "application/json")
  res.end(JSON.stringify(body))
}

/** Handles `/convos/control/{status,provision,configure,reset,ack-joined}`. */
export const handleControl = async (
  req: IncomingMessage,
  res: ServerResponse,
  deps: { readonly token: string; readonly instance: () => ConvosInstance | undefined; readonly startupError: () => string | undefined },
): Promise<boolean> => {
  if (!isAuthorized(req.headers.authorization, deps.token)) {
    send(res, 401, { error: "unauthorized" })
    return true
  }
  const path = (req.url ?? "").split("?")[0] ?? ""
  const action = path.slice(CONTROL_PREFIX.length + 1)
  const instance = deps.instance()
  if (!instance) {
    const error = deps.startupError()
    send(res, 503, { error: error ? `convos channel failed to start: ${error}` : "convos channel is starting" })
    return true
  }
  if (req.method === "GET" && action === "status") {
    send(res, 200, instance.status())
    return true
  }
  if (req.method !== "POST") {
    send(res, 404, { error: `no route ${req.method ?? ""} ${path}` })
    return true
  }
  const body = await readJson(req)
  if (!body.ok) {
    send(res, 400, { error: body.error })
    return true
  }
  switch (action) {
    case "provision": {
      const result = await instance.provision(body.value)
      send(res, result.status, result.body)
      return true
    }
    case "configure": {
      const result = await instance.configure(body.value)
      send(res, result.status, result.body)
      return true
    }
    case "reset":
      send(res, 200, instance.reset())
      return true
    case "ack-joined":
      instance.acknowledgeJoinedNotification()
      send(res, 200, { ok: true })
      return true
    default:
      send(res, 404, { error: `no route POST ${path}` })
      return true
  }
}
