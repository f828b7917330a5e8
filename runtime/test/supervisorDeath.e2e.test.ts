/**
 * The supervisor dies without stopping its gateway (SIGKILL, OOM): the gateway, which is told only to watch its parent
 * (no pid of another process in its environment), stops itself instead of lingering on the host's state.
 */
import { readFileSync } from "node:fs"
import { afterAll, beforeAll, expect, it } from "vitest"
import { RUNTIME_READY_TIMEOUT, type RuntimeWorld, startRuntimeWorld, waitFor } from "./harness.ts"

let world: RuntimeWorld

beforeAll(async () => {
  world = await startRuntimeWorld("orphan", { slots: 1 })
}, RUNTIME_READY_TIMEOUT + 60_000)

afterAll(async () => {
  await world?.stop()
})

const running = (pid: number) => {
  try {
    // A zombie is gone for our purpose: it holds nothing any more.
    return !readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.startsWith("Z")
  } catch {
    return false
  }
}

it("a gateway whose supervisor was killed stops itself", async () => {
  const gatewayPid = world.host.gatewayPid()
  expect(gatewayPid).toBeDefined()
  expect(readFileSync(`/proc/${gatewayPid}/environ`, "utf8")).not.toContain(`=${world.host.process.pid}\0`)
  world.host.process.kill("SIGKILL")
  await world.host.exited
  await waitFor("the orphaned gateway to stop", () => (running(gatewayPid ?? 0) ? undefined : true), 30_000)
}, 60_000)
