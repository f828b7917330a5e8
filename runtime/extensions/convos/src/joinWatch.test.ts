import { describe, expect, it } from "vitest"
import { defaultJoinWatchPolicy, nextJoinCheckInMs } from "./joinWatch.ts"

describe("nextJoinCheckInMs", () => {
  it("checks every 300 ms for two minutes, every 3 s until half an hour, then leaves it to the sweep", () => {
    expect(nextJoinCheckInMs(0)).toBe(300)
    expect(nextJoinCheckInMs(2 * 60_000 - 1)).toBe(300)
    expect(nextJoinCheckInMs(2 * 60_000)).toBe(3_000)
    expect(nextJoinCheckInMs(30 * 60_000 - 1)).toBe(3_000)
    expect(nextJoinCheckInMs(30 * 60_000)).toBeNull()
  })
  it("keeps the fast cadence well under the greeting target and the reads under XMTP's limit", () => {
    // 20,000 reads per 5 minutes per identity; a check is a welcome sync plus one sync per DM (a few).
    const checksPer5Min = (5 * 60_000) / defaultJoinWatchPolicy.fastEveryMs
    expect(checksPer5Min * 5).toBeLessThan(20_000)
    expect(defaultJoinWatchPolicy.fastEveryMs).toBeLessThan(1_500 / 3)
  })
})
