import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { hostLaunch } from "../../contract/index.ts"

describe("the runtime image", () => {
  it("launches the supervisor as the contract's hostLaunch says (same Node flags, same entry)", () => {
    const dockerfile = readFileSync(new URL("../Dockerfile", import.meta.url), "utf8")
    const cmd = /^CMD\s+(\[.*\])\s*$/m.exec(dockerfile)?.[1]
    expect(cmd).toBeDefined()
    expect(JSON.parse(cmd!)).toEqual(["node", ...hostLaunch.nodeFlags, hostLaunch.entry])
  })
})
