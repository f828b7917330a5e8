/**
 * The instance contract (docs/instance-contract.md) on 127.0.0.1:$PORT. Every route needs the instance token;
 * provision, configure and reset are forwarded to the convos plugin inside the gateway.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import { bearerMatches, readBody, sendJson as send } from "./jsonHttp.ts"

export interface PluginStatus {
  readonly ready: boolean
  readonly inboxId: string
  readonly conversationId: string | null
  readonly phase: string
  readonly ended: string | null
  readonly joinedNotificationPending: boolean
}

/** The contract routes that the plugin inside the gateway answers. */
export type ForwardedAction = "provision" | "configure" | "reset"

const FORWARDED: ReadonlyMap<string, ForwardedAction> = new Map([
  ["/pool/provision", "provision"],
  ["/pool/configure", "configure"],
  ["/pool/reset", "reset"],
])

export interface ContractBackend {
  readonly version: string
  /** True when the gateway is up and answered /readyz; the plugin's own readiness comes from its status. */
  gatewayReady(): boolean
  pluginStatus(): Promise<PluginStatus | undefined>
  /** The inbox survives gateway restarts: reported from memory while the gateway is down. */
  lastKnownInboxId(): string | null
  /** Forwards to the plugin: status and JSON body as the plugin answered. */
  forward(action: ForwardedAction, body: unknown): Promise<{ readonly status: number; readonly body: unknown }>
}

export const handleContractRequest = async (req: IncomingMessage, res: ServerResponse, token: string, backend: ContractBackend): Promise<void> => {
  if (!bearerMatches(req.headers.authorization, token)) return send(res, 401, { error: "missing or wrong instance token" })
  const path = (req.url ?? "").split("?")[0]
  if (req.method === "GET" && path === "/pool/health") {
    const status = backend.gatewayReady() ? await backend.pluginStatus() : undefined
    return send(res, 200, {
      ready: backend.gatewayReady() && status?.ready === true,
      inboxId: status?.inboxId ?? backend.lastKnownInboxId(),
      version: backend.version,
      conversationId: status?.conversationId ?? null,
    })
  }
  const action = FORWARDED.get(path ?? "")
  if (req.method === "POST" && action !== undefined) {
    const read = await readBody(req)
    if ("error" in read) return send(res, read.status, { error: read.error })
    let body: unknown = {}
    if (read.text.trim() !== "") {
      try {
        body = JSON.parse(read.text)
      } catch {
        return send(res, 400, { error: "body is not valid JSON" })
      }
    }
    if (!backend.gatewayReady()) return send(res, 503, { error: "instance is not ready (gateway starting or restarting)" })
    const forwarded = await backend.forward(action, body)
    return send(res, forwarded.status, forwarded.body)
  }
  return send(res, 404, { error: `no route ${req.method ?? ""} ${path ?? ""}` })
}

export const startContractServer = (port: number, host: string, token: string, backend: ContractBackend): Promise<Server> =>
  new Promise((resolve, reject) => {
    const server = createServer((req, res) => {
      handleContractRequest(req, res, token, backend).catch((error: unknown) => {
        if (!res.headersSent) send(res, 500, { error: `internal error: ${error instanceof Error ? error.message : String(error)}` })
      })
    })
    server.once("error", reject)
    server.listen(port, host, () => resolve(server))
  })
