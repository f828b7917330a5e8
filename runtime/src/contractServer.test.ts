import type { Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterEach, describe, expect, it } from "vitest"
import type { SlotHealth, SlotSpec } from "../../contract/index.ts"
import { type HostBackend, startHostServer } from "./contractServer.ts"

const hostToken = "host-token-0123456789abcdef"
const tokens: Record<string, string> = { slotaaaa: "slot-a-token-0123456789", slotbbbb: "slot-b-token-0123456789" }
const health = (slotId: string): SlotHealth => ({ slotId, ready: true, inboxId: "a".repeat(64), conversationId: null })

let server: Server | undefined
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())))

const start = async (overrides: Partial<HostBackend> = {}) => {
  const calls: Array<{ what: string; slotId: string; body?: unknown }> = []
  const backend: HostBackend = {
    hostToken,
    gatewayReady: () => true,
    slotToken: (slotId) => tokens[slotId],
    hostHealth: async () => ({ hostId: "hostone", version: "test/1", gatewayReady: true, capacity: 2, slots: Object.keys(tokens).map(health) }),
    slotHealth: async (slotId) => health(slotId),
    putSlot: async (slotId, spec: SlotSpec) => {
      calls.push({ what: "put", slotId, body: spec })
      return { status: 200, body: { slotId } }
    },
    deleteSlot: async (slotId) => {
      calls.push({ what: "delete", slotId })
      return { status: 200, body: { removed: true } }
    },
    forward: async (slotId, action, body) => {
      calls.push({ what: action, slotId, body })
      return { status: 200, body: { status: "created" } }
    },
    ...overrides,
  }
  server = await startHostServer(0, "127.0.0.1", backend)
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const call = async (method: string, path: string, token: string, body?: unknown) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    })
    return { status: response.status, body: (await response.json()) as Record<string, unknown> }
  }
  return { call, calls }
}

const spec = { token: "new-slot-token-0123456789", model: { kind: "none" }, tools: { AGENTMAIL_INBOX_ID: "a@b.c" } }

describe("host server: host routes", () => {
  it("need the host token: a slot's token or none is 401", async () => {
    const { call, calls } = await start()
    expect(await call("GET", "/host/health", "wrong")).toEqual({ status: 401, body: { error: "missing or wrong host token" } })
    expect((await call("PUT", "/host/slots/slotcccc", tokens.slotaaaa ?? "", spec)).status).toBe(401)
    expect((await call("DELETE", "/host/slots/slotaaaa", tokens.slotaaaa ?? "")).status).toBe(401)
    expect(calls).toEqual([])
  })

  it("report the whole host in one answer", async () => {
    const { call } = await start()
    const answer = await call("GET", "/host/health", hostToken)
    expect(answer).toEqual({ status: 200, body: { hostId: "hostone", version: "test/1", gatewayReady: true, capacity: 2, slots: [health("slotaaaa"), health("slotbbbb")] } })
  })

  it("PUT decodes the SlotSpec with the contract; a bad id or body is 400 and changes nothing", async () => {
    const { call, calls } = await start()
    expect(await call("PUT", "/host/slots/slotcccc", hostToken, spec)).toEqual({ status: 200, body: { slotId: "slotcccc" } })
    expect(await call("PUT", "/host/slots/default", hostToken, spec)).toMatchObject({ status: 400, body: { error: expect.stringContaining("bad slot id") } })
    expect((await call("PUT", "/host/slots/ABC", hostToken, spec)).status).toBe(400)
    expect((await call("PUT", "/host/slots/slotdddd", hostToken, { ...spec, token: "short" })).status).toBe(400)
    expect(await call("PUT", "/host/slots/slotdddd", hostToken, { ...spec, tools: { PATH: "/bin" } })).toMatchObject({
      status: 400,
      body: { error: expect.stringContaining("PATH is not a tool variable") },
    })
    expect((await call("PUT", "/host/slots/slotdddd", hostToken, { ...spec, extra: 1 })).status).toBe(400)
    expect(await call("PUT", "/host/slots/slotdddd", hostToken, "{nope")).toEqual({ status: 400, body: { error: "body is not valid JSON" } })
    expect(await call("DELETE", "/host/slots/slotcccc", hostToken)).toEqual({ status: 200, body: { removed: true } })
    expect(calls.map((c) => `${c.what} ${c.slotId}`)).toEqual(["put slotcccc", "delete slotcccc"])
  })
})

describe("host server: slot routes", () => {
  it("a slot's token opens only its own slot: another slot's token is 401, an unknown slot 404", async () => {
    const { call, calls } = await start()
    expect(await call("GET", "/slots/slotaaaa/health", tokens.slotaaaa ?? "")).toEqual({ status: 200, body: health("slotaaaa") })
    expect(await call("GET", "/slots/slotaaaa/health", tokens.slotbbbb ?? "")).toEqual({ status: 401, body: { error: "missing or wrong slot token" } })
    expect((await call("POST", "/slots/slotaaaa/provision", tokens.slotbbbb ?? "", { mode: "create" })).status).toBe(401)
    expect((await call("POST", "/slots/slotaaaa/provision", hostToken, { mode: "create" })).status).toBe(401)
    expect(await call("GET", "/slots/slotzzzz/health", tokens.slotaaaa ?? "")).toEqual({ status: 404, body: { error: "no slot slotzzzz on this host" } })
    expect(calls).toEqual([])
  })

  it("passes provision, configure and reset through to that slot, and rejects bad JSON with 400", async () => {
    const { call, calls } = await start()
    const token = tokens.slotbbbb ?? ""
    expect(await call("POST", "/slots/slotbbbb/provision", token, { mode: "create" })).toEqual({ status: 200, body: { status: "created" } })
    await call("POST", "/slots/slotbbbb/configure", token, { agentName: "Tour Guide" })
    await call("POST", "/slots/slotbbbb/reset", token, "")
    expect(calls).toEqual([
      { what: "provision", slotId: "slotbbbb", body: { mode: "create" } },
      { what: "configure", slotId: "slotbbbb", body: { agentName: "Tour Guide" } },
      { what: "reset", slotId: "slotbbbb", body: {} },
    ])
    expect(await call("POST", "/slots/slotbbbb/provision", token, "{nope")).toEqual({ status: 400, body: { error: "body is not valid JSON" } })
    expect((await call("GET", "/slots/slotbbbb/configure", token)).status).toBe(404)
  })

  it("answers 503 while the gateway restarts", async () => {
    const { call } = await start({ gatewayReady: () => false })
    expect((await call("POST", "/slots/slotaaaa/provision", tokens.slotaaaa ?? "", { mode: "create" })).status).toBe(503)
  })
})
