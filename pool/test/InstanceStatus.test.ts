import { describe, expect, it } from "vitest"
import { type InstanceEvent, InstanceStatuses, type InstanceStatus, transition } from "../src/domain/InstanceStatus.ts"

const events: ReadonlyArray<InstanceEvent> = [
  { _tag: "BecameReady" },
  { _tag: "StartTimedOut" },
  { _tag: "ComputeFailed" },
  { _tag: "BecameUnhealthy" },
  { _tag: "Claimed" },
  { _tag: "Provisioned", pendingAcceptance: false },
  { _tag: "Provisioned", pendingAcceptance: true },
  { _tag: "ProvisionFailed", resetClean: true },
  { _tag: "ProvisionFailed", resetClean: false },
  { _tag: "JoinAccepted" },
  { _tag: "JoinFailed" },
  { _tag: "ClaimAbandoned" },
]

const key = (e: InstanceEvent) =>
  e._tag === "Provisioned" ? `Provisioned(pending=${e.pendingAcceptance})`
  : e._tag === "ProvisionFailed" ? `ProvisionFailed(clean=${e.resetClean})`
  : e._tag

/** The whole machine, written out: every (status, event) pair that is allowed, and where it goes. */
const allowed: Record<string, InstanceStatus> = {
  "starting BecameReady": "idle",
  "starting StartTimedOut": "dead",
  "starting ComputeFailed": "dead",
  "idle ComputeFailed": "dead",
  "idle BecameUnhealthy": "dead",
  "idle Claimed": "claiming",
  "claiming ComputeFailed": "crashed",
  "claiming Provisioned(pending=false)": "claimed",
  "claiming Provisioned(pending=true)": "pending_acceptance",
  "claiming ProvisionFailed(clean=true)": "idle",
  "claiming ProvisionFailed(clean=false)": "crashed",
  "claiming ClaimAbandoned": "crashed",
  "pending_acceptance ComputeFailed": "crashed",
  "pending_acceptance JoinAccepted": "claimed",
  "pending_acceptance JoinFailed": "crashed",
  "claimed ComputeFailed": "crashed",
}

describe("transition", () => {
  for (const from of InstanceStatuses) {
    for (const event of events) {
      const name = `${from} ${key(event)}`
      const expected = allowed[name]
      it(expected ? `${name} → ${expected}` : `${name} is refused`, () => {
        const result = transition(from, event)
        if (expected) expect(result).toEqual({ ok: true, to: expected })
        else expect(result.ok).toBe(false)
      })
    }
  }

  it("never moves a claimed instance back to idle or dead (its conversation would be lost)", () => {
    for (const event of events) {
      const result = transition("claimed", event)
      if (result.ok) expect(["idle", "dead", "starting"]).not.toContain(result.to)
    }
  })

  it("has no way out of crashed or dead: only an operator's kill or the reaper removes them", () => {
    for (const from of ["crashed", "dead"] as const) {
      for (const event of events) expect(transition(from, event).ok).toBe(false)
    }
  })
})
