import { describe, expect, it } from "vitest"
import { ago, hostsReport, statusReport, table } from "../src/cli/format.ts"

describe("operator CLI formatting", () => {
  it("aligns table columns to the widest cell", () => {
    expect(table(["A", "LONG"], [["xyz", "1"], ["q", "22222"]])).toBe(
      ["A    LONG", "───  ─────", "xyz  1", "q    22222"].join("\n"),
    )
  })
  it("says how long ago in the largest fitting unit", () => {
    const now = Date.parse("2026-01-01T01:00:00Z")
    expect(ago("2026-01-01T00:59:30Z", now)).toBe("30s ago")
    expect(ago("2026-01-01T00:30:00Z", now)).toBe("30m ago")
    expect(ago(null, now)).toBe("–")
  })
  it("summarises counts, skipping zeros, and lists instances without secrets", () => {
    const report = statusReport({ idle: 2, claimed: 1, dead: 0 }, [{
      id: "abc",
      status: "idle",
      agentName: null,
      inboxId: "0123456789abcdef",
      createdAt: new Date().toISOString(),
      lastHealthAt: null,
      statusReason: null,
      resources: [{ tool: "openrouter" }],
    }])
    expect(report.split("\n")[0]).toBe("2 idle, 1 claimed")
    expect(report).toContain("01234567…")
    expect(report).toContain("openrouter")
  })
  it("shows each host's capacity, slots used/idle/starting, health and compute kind", () => {
    const report = hostsReport([
      { id: "hA", status: "ready", draining: false, computeKind: "railway", capacity: 8, used: 5, idle: 2, starting: 1, lastHealthAt: null },
      { id: "hB", status: "ready", draining: true, computeKind: "railway", capacity: 8, used: 1, idle: 0, starting: 0, lastHealthAt: null },
    ])
    const [header, , a, b] = report.split("\n")
    expect(header!.split(/\s+/)).toEqual(["HOST", "STATUS", "COMPUTE", "USED", "IDLE", "STARTING", "CAPACITY", "HEALTHY"])
    expect(a!.split(/\s{2,}/)).toEqual(["hA", "ready", "railway", "5", "2", "1", "8", "–"])
    expect(b).toContain("ready, draining")
    expect(hostsReport([])).toBe("no hosts")
  })
})
