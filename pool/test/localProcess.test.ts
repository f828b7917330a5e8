import { Duration, Effect } from "effect"
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs"
import { createServer, type Server } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { makeLocalProcess, type PortRange } from "../src/compute/LocalProcess.ts"

/** A host program that only waits: these tests are about where hosts live, not what they serve. */
const idleCommand = [process.execPath, "-e", "setTimeout(() => {}, 120_000)"]

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup()
})

const provider = (portRange: PortRange) => {
  const dataDir = mkdtempSync(join(tmpdir(), "local-process-"))
  const local = makeLocalProcess({ dataDir, command: idleCommand, maxRestarts: 1, crashWindow: Duration.minutes(1), portRange })
  cleanups.push(async () => {
    await local.stopAll()
    rmSync(dataDir, { recursive: true, force: true })
  })
  return local
}

const occupy = (port: number) =>
  new Promise<Server>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(port, "127.0.0.1", () => resolve(server))
  })

const portOf = (url: string) => Number(new URL(url).port)
/** A range of `size` ports somewhere in the host range, different for each run. */
const someRange = (size: number): PortRange => {
  const from = 20_000 + Math.floor(Math.random() * 9_000)
  return { from, to: from + size - 1 }
}

describe("LocalProcess ports", () => {
  it("gives hosts created at the same moment distinct ports inside the range", async () => {
    const range = someRange(8)
    const local = provider(range)
    const created = await Effect.runPromise(
      Effect.all(Array.from({ length: 8 }, (_, i) => local.create({ hostId: `host-${i}`, env: { HOST_ID: `host-${i}` } })), {
        concurrency: "unbounded",
      }),
    )
    const ports = created.map((c) => portOf(c.url))
    expect(new Set(ports).size).toBe(8)
    for (const port of ports) expect(port).toBeGreaterThanOrEqual(range.from), expect(port).toBeLessThanOrEqual(range.to)
  })

  it("skips a port something else holds and says so when the range is full", async () => {
    const range = someRange(3)
    const blocker = await occupy(range.from + 1)
    cleanups.push(() => new Promise((resolve) => blocker.close(() => resolve())))
    const local = provider(range)
    const first = await Effect.runPromise(local.create({ hostId: "a", env: { HOST_ID: "a" } }))
    const second = await Effect.runPromise(local.create({ hostId: "b", env: { HOST_ID: "b" } }))
    expect([portOf(first.url), portOf(second.url)].sort()).toEqual([range.from, range.to])
    const third = await Effect.runPromise(Effect.flip(local.create({ hostId: "c", env: { HOST_ID: "c" } })))
    expect(third.message).toBe(`no free port left in ${range.from}-${range.to} for a new host`)
  })

  it("keeps the ports of hosts already on disk when a new provider (a restarted pool) allocates", async () => {
    const range = someRange(2)
    const dataDir = mkdtempSync(join(tmpdir(), "local-process-"))
    const options = { dataDir, command: idleCommand, maxRestarts: 1, crashWindow: Duration.minutes(1), portRange: range }
    const before = makeLocalProcess(options)
    const after = makeLocalProcess(options)
    cleanups.push(async () => {
      await before.stopAll()
      rmSync(dataDir, { recursive: true, force: true })
    })
    const old = await Effect.runPromise(before.create({ hostId: "old", env: { HOST_ID: "old" } }))
    // The old host's process is not listening (it only waits), so only env.json can tell its port is taken.
    const fresh = await Effect.runPromise(after.create({ hostId: "new", env: { HOST_ID: "new" } }))
    expect(portOf(fresh.url)).not.toBe(portOf(old.url))
  })
})

describe("LocalProcess isolation (issue 14 #9)", () => {
  it("runs a host with its own home and working directory under its dir (0700), never the pool's HOME or the repo", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "local-process-"))
    const report = [
      process.execPath,
      "-e",
      "require('fs').writeFileSync(process.env.STATE_DIR + '.where', JSON.stringify({ home: process.env.HOME, cwd: process.cwd() })); setTimeout(() => {}, 120000)",
    ]
    const local = makeLocalProcess({ dataDir, command: report, maxRestarts: 1, crashWindow: Duration.minutes(1), portRange: someRange(4) })
    cleanups.push(async () => {
      await local.stopAll()
      rmSync(dataDir, { recursive: true, force: true })
    })
    const created = await Effect.runPromise(local.create({ hostId: "iso", env: { HOST_ID: "iso" } }))
    const dir = join(dataDir, "hosts", "iso")
    const whereFile = join(dir, "state.where")
    const deadline = Date.now() + 10_000
    // The child writes the file non-atomically: wait until it holds whole JSON, not only until it exists.
    const written = () => {
      try {
        return existsSync(whereFile) && (JSON.parse(readFileSync(whereFile, "utf8")), true)
      } catch {
        return false
      }
    }
    while (!written() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    const where = JSON.parse(readFileSync(whereFile, "utf8"))
    expect(where).toEqual({ home: join(dir, "home"), cwd: join(dir, "home") })
    expect(where.home).not.toBe(process.env.HOME)
    expect(statSync(join(dir, "home")).mode & 0o777).toBe(0o700)
    expect(statSync(dir).mode & 0o077).toBe(0)
    expect(created.url).toMatch(/^http:\/\/127\.0\.0\.1:/)
  })
})
