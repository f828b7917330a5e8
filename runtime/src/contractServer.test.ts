import type { Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterEach, describe, expect, it } from "vitest"
import { type ContractBackend, type PluginStatus, startContractServer } from "./contractServer.ts"

const token = "instance-token-0123456789"
const status: PluginStatus = { ready: true, inboxId: "a".repeat(64), conversationId: null, phase: "idle", ended: null, joinedNotificationPending: false }

let server: Server | undefined
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())))

const start = async (overrides: Partial<ContractBackend> = {}) => {
  const forwarded: Array<{ action: string; body: unknown }> = []
  const backend: ContractBackend = {
    version: "test/1",
    gatewayReady: () => true,
    pluginStatus: async () => status,
    lastKnownInboxId: () => "b".repeat(64),
    forward: async (action, body) => {
      forwarded.push({ action, body })
      return { status: 200, body: { status: "created" } }
    },
    ...overrides,
  }
  server = await startContractServer(0, "127.0.0.1", token, backend)
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const call = async (path: string, init: RequestInit = {}, auth = `Bearer ${token}`) => {
    const response = await fetch(`${url}${path}`, { ...init, headers: { authorization: auth, "content-type": "application/json" } })
    return { status: response.status, body: (await response.json()) as Record<string, unknown> }
  }
  return { call, forwarded }
}

describe("contract server", () => {
  it("answers 401 without the instance token, on every route", async () => {
    const { call } = await start()
    expect(await call("/pool/health", {}, "Bearer wrong")).toEqual({ status: 401, body: { error: "missing or wrong instance token" } })
    expect((await call("/pool/provision", { method: "POST", body: "{}" }, "")).status).toBe(401)
  })
  it("reports health from the plugin when the gateway is ready", async () => {
    const { call } = await start()
    expect(await call("/pool/health")).toEqual({ status: 200, body: { ready: true, inboxId: "a".repeat(64), version: "test/1", conversationId: null } })
  })
  it("reports not ready, with the last known inbox, while the gateway restarts", async () => {
    const { call } = await start({ gatewayReady: () => false })
    expect(await call("/pool/health")).toEqual({ status: 200, body: { ready: false, inboxId: "b".repeat(64), version: "test/1", conversationId: null } })
    expect((await call("/pool/provision", { method: "POST", body: "{}" })).status).toBe(503)
  })
  it("forwards provision, configure and reset bodies to the plugin and rejects bad JSON with 400", async () => {
    const { call, forwarded } = await start()
    expect(await call("/pool/provision", { method: "POST", body: JSON.stringify({ mode: "create" }) })).toEqual({ status: 200, body: { status: "created" } })
    await call("/pool/configure", { method: "POST", body: JSON.stringify({ agentName: "Tour Guide" }) })
    await call("/pool/reset", { method: "POST", body: "" })
    expect(forwarded).toEqual([
      { action: "provision", body: { mode: "create" } },
      { action: "configure", body: { agentName: "Tour Guide" } },
      { action: "reset", body: {} },
    ])
    expect((await call("/pool/configure")).status).toBe(404)
    expect(await call("/pool/provision", { method: "POST", body: "{nope" })).toEqual({ status: 400, body: { error: "body is not valid JSON" } })
    expect((await call("/pool/unknown")).status).toBe(404)
  })
})
