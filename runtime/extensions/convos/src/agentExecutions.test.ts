import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { OPENCLAW_DIR } from "../../../src/gatewayProcess.ts"
import { EXECUTION_OWNERS, keepAgentExecutionsOpen } from "./agentExecutions.ts"

describe("keepAgentExecutionsOpen", () => {
  it("creates OpenClaw's registry when the plugin loads first, and its idle agent always reads as none", () => {
    const scope: Record<PropertyKey, unknown> = {}
    expect(keepAgentExecutionsOpen(scope)).toBe("applied")
    const registry = scope[EXECUTION_OWNERS] as { owners: Map<string, unknown>; idle?: unknown }
    expect(registry.owners).toBeInstanceOf(Map)
    registry.idle = { agentId: "a" }
    expect(registry.idle).toBeUndefined()
  })

  it("adjusts a registry OpenClaw already made, keeping its owners", () => {
    const owners = new Map([["/state/agents/a/agent/openclaw-agent.sqlite", {}]])
    const scope: Record<PropertyKey, unknown> = { [EXECUTION_OWNERS]: { owners, idle: { agentId: "a" } } }
    expect(keepAgentExecutionsOpen(scope)).toBe("applied")
    expect(scope[EXECUTION_OWNERS]).toMatchObject({ owners, idle: undefined })
  })

  it("leaves a registry of another shape alone", () => {
    const scope: Record<PropertyKey, unknown> = { [EXECUTION_OWNERS]: { entries: [] } }
    expect(keepAgentExecutionsOpen(scope)).toBe("unexpected_registry")
    expect(scope[EXECUTION_OWNERS]).toEqual({ entries: [] })
  })
})

describe("the installed OpenClaw", () => {
  it("still keeps one idle agent execution in the registry this plugin adjusts, created with the shape it creates", () => {
    const dist = join(OPENCLAW_DIR, "dist")
    const sources = readdirSync(dist)
      .filter((name) => name.endsWith(".mjs"))
      .map((name) => readFileSync(join(dist, name), "utf8"))
      .filter((text) => text.includes(`Symbol.for("openclaw.agentDatabaseExecutionOwners")`))
    expect(sources).toHaveLength(1)
    const source = sources[0]!
    expect(source).toContain(`resolveGlobalSingleton(Symbol.for("openclaw.agentDatabaseExecutionOwners"), () => ({ owners: /* @__PURE__ */ new Map() }))`)
    // Another agent's turn closes the idle one; a released execution becomes the idle one only if none is.
    expect(source).toContain("for (let idle = executionState.idle; idle && idle !== owner; idle = executionState.idle)")
    expect(source).toContain("if (generation && !nativeClosing && !executionState.idle) {")
  })
})
