import { describe, expect, it } from "vitest"
import { watchSupervisor } from "./parentWatch.ts"

describe("watchSupervisor", () => {
  it("calls back once when the supervisor is gone, not while it lives", async () => {
    let alive = true
    let calls = 0
    watchSupervisor(1234, () => calls++, { intervalMs: 5, isAlive: () => alive })
    await new Promise((r) => setTimeout(r, 30))
    expect(calls).toBe(0)
    alive = false
    await new Promise((r) => setTimeout(r, 30))
    expect(calls).toBe(1)
  })
  it("treats the current process as alive", async () => {
    let calls = 0
    const stop = watchSupervisor(process.pid, () => calls++, { intervalMs: 5 })
    await new Promise((r) => setTimeout(r, 30))
    stop()
    expect(calls).toBe(0)
  })
})
