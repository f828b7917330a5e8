import { execFile } from "node:child_process"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"
import { freePort } from "../test/net/freePort.ts"

const run = promisify(execFile)

describe("npm start with a bad manager setting", () => {
  it("stops at once with one line naming the variable, instead of waiting for the network", async () => {
    const main = fileURLToPath(new URL("./main.ts", import.meta.url))
    const dataDir = await mkdtemp(join(tmpdir(), "bad-setting-"))
    try {
      const failed = await run(process.execPath, ["--import", "tsx", main], {
        env: {
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? "/tmp",
          DATA_DIR: dataDir,
          PORT: String(await freePort()),
          POOL_TARGET_IDLE: "0",
          MANAGER_MAX_SPAWNS_PER_HOUR: "lots",
        },
        timeout: 60_000,
      }).then(() => undefined, (error: { code?: number; stderr?: string }) => error)
      expect(failed?.code).toBe(1)
      expect(failed?.stderr?.trim().split("\n").at(-1)).toMatch(/^configuration error: .*MANAGER_MAX_SPAWNS_PER_HOUR/)
    } finally {
      await rm(dataDir, { recursive: true, force: true })
    }
  }, 90_000)
})
