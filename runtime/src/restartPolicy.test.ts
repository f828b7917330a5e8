import { describe, expect, it } from "vitest"
import { decideRestart, noCrashes } from "./restartPolicy.ts"

const policy = { quickCrashMs: 1_000, maxQuickCrashes: 3, baseDelayMs: 100, maxDelayMs: 250 }

describe("decideRestart", () => {
  it("restarts quick crashes with doubling, capped delays, then gives up", () => {
    const first = decideRestart(noCrashes, 10, policy)
    expect(first).toEqual({ restart: true, delayMs: 100, history: { consecutiveQuickCrashes: 1 } })
    const second = decideRestart(first.history, 10, policy)
    expect(second).toMatchObject({ restart: true, delayMs: 200 })
    const third = decideRestart(second.history, 10, policy)
    expect(third).toMatchObject({ restart: false, reason: expect.stringContaining("3 times") })
  })
  it("forgets earlier crashes after a long run", () => {
    const history = { consecutiveQuickCrashes: 2 }
    expect(decideRestart(history, 5_000, policy)).toEqual({ restart: true, delayMs: 100, history: { consecutiveQuickCrashes: 0 } })
  })
  it("caps the delay", () => {
    const policyLong = { ...policy, maxQuickCrashes: 10 }
    expect(decideRestart({ consecutiveQuickCrashes: 5 }, 10, policyLong)).toMatchObject({ delayMs: 250 })
  })
})
