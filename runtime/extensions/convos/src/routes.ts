/**
 * The plugin's control routes on the gateway port, used only by the supervisor (loopback, bearer gateway token), one
 * set per slot (account). The supervisor turns them into the slot routes of the contract (docs/instance-contract.md).
 */
import { timingSafeEqual, createHash } from "node:crypto"
import type { IncomingMessage, ServerResponse } from "node:http"
import { type ConvosAccounts, stopAccount } from "./channel.ts"
import { errorMessage } from "./instance.ts"
import { accountIdsOf, accountSettingsOf } from "./settings.ts"

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

/** How long a deleted slot's agent may take to finish its turn and leave its conversation. */
const LEAVE_TIMEOUT_MS = 15_000

/**
 * Handles `GET /convos/control/status` (every account, and the accounts the running config enables), `POST /convos/control/stop-all` (host shutdown: every account
 * stops before the gateway does) and `POST /convos/control/<slotId>/{provision,configure,reset,inbound,ack-joined,leave}`.
 */
export const handleControl = async (
  req: IncomingMessage,
  res: ServerResponse,
  deps: { readonly token: string; readonly accounts: ConvosAccounts },
): Promise<boolean> => {
  if (!isAuthorized(req.headers.authorization, deps.token)) {
    send(res, 401, { error: "unauthorized" })
    return true
  }
  const { accounts } = deps
  const path = (req.url ?? "").split("?")[0] ?? ""
  const rest = path.slice(CONTROL_PREFIX.length + 1)
  if (req.method === "GET" && rest === "status") {
    const cfg = accounts.runtime?.config.current()
    send(res, 200, {
      accounts: Object.fromEntries([...accounts.instances].map(([accountId, instance]) => [accountId, instance.status()])),
      errors: Object.fromEntries(accounts.startupErrors),
      // The enabled accounts of the config the gateway runs now: the supervisor checks its writes were applied.
      configured: cfg === undefined ? null : accountIdsOf(cfg).filter((accountId) => accountSettingsOf(cfg, accountId)?.enabled === true),
    })
    return true
  }
  if (req.method !== "POST") {
    send(res, 404, { error: `no route ${req.method ?? ""} ${path}` })
    return true
  }
  if (rest === "stop-all") {
    accounts.closed = true
    for (const account of accounts.running.values()) account.stop.abort()
    await Promise.all([...accounts.instances].map(([accountId, instance]) => stopAccount(accounts, accountId, instance, console)))
    send(res, 200, { stopped: true })
    return true
  }
  const [accountId = "", action = ""] = rest.split("/")
  const instance = accounts.instances.get(accountId)
  if (!instance) {
    const error = accounts.startupErrors.get(accountId)
    send(res, 503, { error: error ? `the agent failed to start: ${error}` : "the agent is starting" })
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
    case "inbound": {
      const result = instance.inbound(body.value)
      send(res, result.status, result.body)
      return true
    }
    case "ack-joined":
      instance.acknowledgeJoinedNotification()
      send(res, 200, { ok: true })
      return true
    case "leave":
      try {
        send(res, 200, await instance.leave(LEAVE_TIMEOUT_MS))
      } catch (error) {
        send(res, 502, { error: `could not leave the conversation: ${errorMessage(error)}` })
      }
      return true
    default:
      send(res, 404, { error: `no route POST ${path}` })
      return true
  }
}
