import { describe, expect, it } from "vitest"
import {
  etaSeconds,
  type HostLoad,
  hostsToRetire,
  newHostId,
  nextHostStatus,
  placeSlots,
  slotModelOf,
  slotToolsOf,
} from "../src/domain/placement.ts"
import { slotCompute } from "../src/domain/reconcile.ts"

const host = (id: string, slots: number, over: Partial<HostLoad> = {}): HostLoad => ({
  id,
  status: "ready",
  draining: false,
  capacity: 8,
  slots,
  ...over,
})
const targets = (r: ReturnType<typeof placeSlots>) =>
  r.placements.map((p) => (p._tag === "Existing" ? p.hostId : `new${p.index}`))

describe("placeSlots", () => {
  it("fills the fullest host with room first, then the next, before starting any host", () => {
    const r = placeSlots([host("h1", 2), host("h2", 6), host("h3", 8)], 4, 8)
    expect(targets(r)).toEqual(["h2", "h2", "h1", "h1"])
    expect(r.newHosts).toBe(0)
  })
  it("breaks ties by age (ids are time-ordered)", () => {
    expect(targets(placeSlots([host("h2", 3), host("h1", 3)], 1, 8))).toEqual(["h1"])
  })
  it("starts new hosts only for what does not fit, each holding perHost slots", () => {
    const r = placeSlots([host("h1", 7)], 6, 2)
    expect(targets(r)).toEqual(["h1", "new0", "new0", "new1", "new1", "new2"])
    expect(r.newHosts).toBe(3)
  })
  it("never places on a draining, down or retiring host; a starting host with room takes slots", () => {
    const r = placeSlots([
      host("h1", 1, { draining: true }),
      host("h2", 1, { status: "down" }),
      host("h3", 0, { status: "retiring" }),
      host("h4", 1, { status: "starting" }),
    ], 1, 8)
    expect(targets(r)).toEqual(["h4"])
  })
  it("with one agent per host every slot gets its own host", () => {
    expect(placeSlots([], 3, 1).newHosts).toBe(3)
  })
})

describe("hosts, ETA, slot specs", () => {
  it("retires exactly the hosts with no slot left", () => {
    expect(hostsToRetire([host("h1", 0), host("h2", 1), host("h3", 0, { status: "retiring" }), host("h4", 0, { draining: true })]))
      .toEqual(["h1", "h4"])
  })
  it("a host is ready only while it answers with its gateway up; one that stops answering is down", () => {
    expect(nextHostStatus("starting", { answered: false, gatewayReady: false })).toBe("starting")
    expect(nextHostStatus("starting", { answered: true, gatewayReady: true })).toBe("ready")
    expect(nextHostStatus("ready", { answered: false, gatewayReady: false })).toBe("down")
    expect(nextHostStatus("ready", { answered: true, gatewayReady: false })).toBe("down")
    expect(nextHostStatus("down", { answered: true, gatewayReady: true })).toBe("ready")
    expect(nextHostStatus("retiring", { answered: true, gatewayReady: true })).toBe("retiring")
  })
  it("estimates from measured times, adding a host start only when a new host is needed, defaulting sanely", () => {
    expect(etaSeconds({ slotReadyMs: 2_100, hostStartMs: 9_000, newHost: false })).toBe(3)
    expect(etaSeconds({ slotReadyMs: 2_100, hostStartMs: 9_000, newHost: true })).toBe(12)
    expect(etaSeconds({ slotReadyMs: null, hostStartMs: null, newHost: true })).toBe(50)
    expect(etaSeconds({ slotReadyMs: 10, hostStartMs: null, newHost: false })).toBe(1)
  })
  it("gives a slot exactly one model key: its own OpenRouter key, else the shared model", () => {
    const shared = { kind: "openai-compatible", baseUrl: "http://m/v1", apiKey: "sk-shared", model: "m" } as const
    expect(slotModelOf({ OPENROUTER_API_KEY: "sk-own", AGENTMAIL_INBOX_ID: "i" }, shared, "or/model"))
      .toEqual({ kind: "openrouter", apiKey: "sk-own", model: "or/model" })
    expect(slotModelOf({ AGENTMAIL_INBOX_ID: "i" }, shared, "or/model")).toBe(shared)
    expect(slotToolsOf({ OPENROUTER_API_KEY: "sk-own", AGENTMAIL_INBOX_ID: "i", TELNYX_PHONE_NUMBER: "+1" }))
      .toEqual({ AGENTMAIL_INBOX_ID: "i", TELNYX_PHONE_NUMBER: "+1" })
  })
  it("makes host ids that are valid slot-style ids and sort by creation time", () => {
    const a = newHostId(1_000_000)
    const b = newHostId(2_000_000_000_000)
    expect(a).toMatch(/^[a-z0-9]{18}$/)
    expect(a < b).toBe(true)
    // Hosts made in the same millisecond (one replenish placing several) must not collide (one random byte did).
    expect(new Set(Array.from({ length: 2_000 }, () => newHostId(1_000_000))).size).toBe(2_000)
  })
})

describe("slotCompute (a slot seen through its host)", () => {
  const up = { compute: "running", answered: true, gatewayReady: true } as const
  it("a slot on a crashed, restarting or silent host is kept (deploying), never lost", () => {
    for (const host of [
      { ...up, compute: "failed" as const },
      { ...up, compute: "deploying" as const },
      { ...up, answered: false },
      { ...up, gatewayReady: false },
    ]) expect(slotCompute({ putOnHost: true, host, listed: false })).toBe("deploying")
  })
  it("is running when its healthy host lists it, gone when its host does not or is gone", () => {
    expect(slotCompute({ putOnHost: true, host: up, listed: true })).toBe("running")
    expect(slotCompute({ putOnHost: true, host: up, listed: false })).toBe("gone")
    expect(slotCompute({ putOnHost: true, host: { ...up, compute: "gone" }, listed: true })).toBe("gone")
    expect(slotCompute({ putOnHost: false, host: up, listed: false })).toBe("gone")
  })
})
