/**
 * The host's routes (docs/instance-contract.md) on $BIND_HOST:$PORT. Host routes need the host token; slot routes need
 * that slot's own token (another slot's token is 401, an unknown slot 404). Provision, configure, reset and inbound are passed
 * through to the convos plugin inside the gateway, which decodes them with the contract.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import { type HostHealth, SlotId, type SlotHealth, SlotSpec } from "../../contract/index.ts"
import { schemaProblem } from "./hostEnv.ts"
import { bearerMatches, readBody, sendJson as send } from "./jsonHttp.ts"

/** The slot routes that the plugin inside the gateway answers. */
export type ForwardedAction = "provision" | "configure" | "reset" | "inbound"
const FORWARDED: ReadonlySet<string> = new Set(["provision", "configure", "reset", "inbound"])

export interface Answer {
  readonly status: number
  readonly body: unknown
}

export interface HostBackend {
  readonly hostToken: string
  hostHealth(): Promise<HostHealth>
  /** The token of a slot this host holds, or undefined. */
  slotToken(slotId: string): string | undefined
  slotHealth(slotId: string): Promise<SlotHealth>
  putSlot(slotId: string, spec: SlotSpec): Promise<Answer>
  deleteSlot(slotId: string): Promise<Answer>
  gatewayReady(): boolean
  /** Forwards to the plugin: status and JSON body as the plugin answered. */
  forward(slotId: string, action: ForwardedAction, body: unknown): Promise<Answer>
}

const HOST_SLOT = /^\/host\/slots\/([^/]+)$/
const SLOT_ROUTE = /^\/slots\/([^/]+)\/([a-z-]+)$/

const readJson = async (req: IncomingMessage): Promise<{ readonly value: unknown } | Answer> => {
  const read = await readBody(req)
  if ("error" in read) return { status: read.status, body: { error: read.error } }
  if (read.text.trim() === "") return { value: {} }
  try {
    return { value: JSON.parse(read.text) }
  } catch {
    return { status: 400, body: { error: "body is not valid JSON" } }
  }
}

const badSlotId = (slotId: string): string | undefined => {
  const decoded = Schema.decodeUnknownExit(SlotId)(slotId)
  return Exit.isSuccess(decoded) ? undefined : `bad slot id "${slotId.slice(0, 40)}": ids are 6-32 lower-case letters and digits, never "default"`
}

const hostRoute = async (req: IncomingMessage, path: string, backend: HostBackend): Promise<Answer> => {
  if (!bearerMatches(req.headers.authorization, backend.hostToken)) return { status: 401, body: { error: "missing or wrong host token" } }
  if (path === "/host/health" && req.method === "GET") return { status: 200, body: await backend.hostHealth() }
  const slotId = HOST_SLOT.exec(path)?.[1]
  if (slotId !== undefined && (req.method === "PUT" || req.method === "DELETE")) {
    const problem = badSlotId(slotId)
    if (problem) return { status: 400, body: { error: problem } }
    if (req.method === "DELETE") return backend.deleteSlot(slotId)
    const read = await readJson(req)
    if (!("value" in read)) return read
    const spec = Schema.decodeUnknownExit(SlotSpec)(read.value, { errors: "first", onExcessProperty: "error" })
    if (Exit.isFailure(spec)) return { status: 400, body: { error: `bad slot spec: ${schemaProblem(spec.cause)}` } }
    return backend.putSlot(slotId, spec.value)
  }
  return { status: 404, body: { error: `no route ${req.method ?? ""} ${path}` } }
}

const slotRoute = async (req: IncomingMessage, slotId: string, action: string, backend: HostBackend): Promise<Answer> => {
  const token = backend.slotToken(slotId)
  if (token === undefined) return { status: 404, body: { error: `no slot ${slotId.slice(0, 40)} on this host` } }
  if (!bearerMatches(req.headers.authorization, token)) return { status: 401, body: { error: "missing or wrong slot token" } }
  if (action === "health" && req.method === "GET") return { status: 200, body: await backend.slotHealth(slotId) }
  if (req.method === "POST" && FORWARDED.has(action)) {
    const read = await readJson(req)
    if (!("value" in read)) return read
    if (!backend.gatewayReady()) return { status: 503, body: { error: "the agent is not ready (gateway starting or restarting)" } }
    return backend.forward(slotId, action as ForwardedAction, read.value)
  }
  return { status: 404, body: { error: `no route ${req.method ?? ""} /slots/${slotId}/${action}` } }
}

export const handleHostRequest = async (req: IncomingMessage, res: ServerResponse, backend: HostBackend): Promise<void> => {
  const path = (req.url ?? "").split("?")[0] ?? ""
  if (path.startsWith("/host/")) {
    const answer = await hostRoute(req, path, backend)
    return send(res, answer.status, answer.body)
  }
  const slot = SLOT_ROUTE.exec(path)
  if (slot?.[1] !== undefined && slot[2] !== undefined) {
    const answer = await slotRoute(req, slot[1], slot[2], backend)
    return send(res, answer.status, answer.body)
  }
  return send(res, 404, { error: `no route ${req.method ?? ""} ${path}` })
}

export const startHostServer = (port: number, host: string, backend: HostBackend): Promise<Server> =>
  new Promise((resolve, reject) => {
    const server = createServer((req, res) => {
      handleHostRequest(req, res, backend).catch((error: unknown) => {
        if (!res.headersSent) send(res, 500, { error: `internal error: ${error instanceof Error ? error.message : String(error)}` })
      })
    })
    server.once("error", reject)
    server.listen(port, host, () => resolve(server))
  })
