import { describe, expect, it } from "vitest"
import { decide, type Observation, replenishCount } from "../src/domain/reconcile.ts"

const policy = { startTimeoutMs: 60_000, unhealthyAfter: 3, pendingAcceptanceTimeoutMs: 3_600_000 }
const base: Observation = {
  status: "starting",
  ageMs: 1_000,
  claimAgeMs: null,
  compute: "running",
  health: null,
  healthFailures: 0,
  ownerAlive: true,
  hasCompute: true,
}
const tagOf = (o: Partial<Observation>) => {
  const d = decide({ ...base, ...o }, policy)
  return d._tag === "Event" ? d.event._tag : d._tag
}

describe("decide", () => {
  it("marks a starting instance idle once it reports ready", () => {
    expect(tagOf({ health: { ready: true, conversationId: null } })).toBe("BecameReady")
  })
  it("gives a starting instance time, then declares it dead", () => {
    expect(tagOf({})).toBe("Keep")
    expect(tagOf({ ageMs: 61_000 })).toBe("StartTimedOut")
  })
  it("declares dead at once a warm-up whose pool process died before compute existed", () => {
    expect(tagOf({ hasCompute: false, ownerAlive: false, compute: "gone" })).toBe("StartTimedOut")
    expect(tagOf({ hasCompute: false, ownerAlive: true, compute: "gone" })).toBe("Keep")
  })
  it("takes an idle instance out after repeated failed health checks, not after one", () => {
    expect(tagOf({ status: "idle", healthFailures: 0 })).toBe("Keep")
    expect(tagOf({ status: "idle", healthFailures: 2 })).toBe("BecameUnhealthy")
    expect(tagOf({ status: "idle", compute: "failed" })).toBe("ComputeFailed")
    expect(tagOf({ status: "idle", healthFailures: 5, compute: "deploying" })).toBe("Keep")
  })
  it("leaves a claim alone while its pool process lives, and recovers it when that process died", () => {
    expect(tagOf({ status: "claiming", ownerAlive: true })).toBe("Keep")
    expect(tagOf({ status: "claiming", ownerAlive: false })).toBe("ClaimAbandoned")
  })
  it("completes a pending join when the instance reports its conversation, fails it after the timeout", () => {
    expect(tagOf({ status: "pending_acceptance", health: { ready: true, conversationId: "c1" } })).toBe("JoinAccepted")
    expect(tagOf({ status: "pending_acceptance", claimAgeMs: 10 })).toBe("Keep")
    expect(tagOf({ status: "pending_acceptance", claimAgeMs: 3_600_001 })).toBe("JoinFailed")
  })
  it("never destroys a claimed instance, even an unhealthy one; a failed compute marks it crashed", () => {
    expect(tagOf({ status: "claimed", health: null, healthFailures: 50 })).toBe("Keep")
    expect(tagOf({ status: "claimed", compute: "gone" })).toBe("ComputeFailed")
    expect(tagOf({ status: "crashed", compute: "gone" })).toBe("Keep")
  })
  it("reaps dead instances", () => {
    expect(tagOf({ status: "dead" })).toBe("Reap")
  })
})

describe("replenishCount", () => {
  it("fills up to the idle target counting warm-ups in progress", () => {
    expect(replenishCount({ targetIdle: 5, maxTotal: 20, idle: 2, starting: 1, live: 3 })).toBe(2)
  })
  it("never exceeds the total cap", () => {
    expect(replenishCount({ targetIdle: 5, maxTotal: 4, idle: 0, starting: 0, live: 3 })).toBe(1)
    expect(replenishCount({ targetIdle: 5, maxTotal: 4, idle: 0, starting: 0, live: 9, requested: 3 })).toBe(0)
  })
  it("creates what is asked for when a count is given, within the cap", () => {
    expect(replenishCount({ targetIdle: 0, maxTotal: 10, idle: 5, starting: 0, live: 5, requested: 3 })).toBe(3)
  })
})
