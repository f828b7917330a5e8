import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import { AgentName, ConfigureRequest, HostEnv, Instructions, ProvisionRequest, SlotId, SlotSpec } from "./index.ts"

const ok = (schema: Schema.Decoder<unknown>, value: unknown) => Schema.decodeUnknownExit(schema)(value)._tag === "Success"
const inbox = "a".repeat(64)
const conversation = "b".repeat(32)

describe("the instance contract", () => {
  it("takes a one-line agent name and refuses control, bidi and zero-width characters", () => {
    expect(ok(AgentName, "Trip Planner")).toBe(true)
    expect(ok(AgentName, "Trip 🧳 Planner")).toBe(true)
    for (const bad of ["", "  ", "a\nb", "\u001b[31mred", "evil\u202eknil", "zero\u200bwidth", " padded", "x".repeat(65)]) {
      expect(ok(AgentName, bad), JSON.stringify(bad)).toBe(false)
    }
  })

  it("takes multi-line instructions but never a NUL", () => {
    expect(ok(Instructions, "Plan trips.\nBe brief.")).toBe(true)
    expect(ok(Instructions, "a\u0000b")).toBe(false)
    expect(ok(Instructions, "x".repeat(10_001))).toBe(false)
  })

  it("decodes each provision mode with the fields it needs, and only those modes", () => {
    const persona = { agentName: "A", instructions: "B" }
    expect(ok(ProvisionRequest, { mode: "create", ...persona })).toBe(true)
    expect(ok(ProvisionRequest, { mode: "add", conversationId: conversation, addedBy: inbox, ...persona })).toBe(true)
    expect(ok(ProvisionRequest, { mode: "add", conversationId: conversation, ...persona })).toBe(false)
    expect(ok(ProvisionRequest, { mode: "join", joinUrl: "https://dev.convos.org/v2?i=x", ...persona })).toBe(true)
    expect(ok(ProvisionRequest, { mode: "join", ...persona })).toBe(false)
    expect(ok(ProvisionRequest, { mode: "steal", ...persona })).toBe(false)
    expect(ok(ProvisionRequest, { mode: "create", ...persona, managerInboxId: "nope" })).toBe(false)
  })

  it("needs a name or instructions to configure", () => {
    expect(ok(ConfigureRequest, {})).toBe(false)
    expect(ok(ConfigureRequest, { agentName: "New" })).toBe(true)
    expect(ok(ConfigureRequest, { instructions: "x\u0000" })).toBe(false)
  })

  it("never names a slot default", () => {
    expect(ok(SlotId, "abc123xyz789")).toBe(true)
    expect(ok(SlotId, "default")).toBe(false)
    expect(ok(SlotId, "../etc")).toBe(false)
  })

  it("gives a slot one model and only agent tool variables", () => {
    const token = "t".repeat(64)
    expect(ok(SlotSpec, { token, model: { kind: "none" }, tools: {} })).toBe(true)
    expect(ok(SlotSpec, { token, model: { kind: "openrouter", apiKey: "sk-or-" + "k".repeat(40), model: "m" }, tools: { AGENTMAIL_INBOX_ID: "x" } })).toBe(true)
    expect(ok(SlotSpec, { token, model: { kind: "none" }, tools: { PATH: "/bin" } })).toBe(false)
    expect(ok(SlotSpec, { token: "short", model: { kind: "none" }, tools: {} })).toBe(false)
  })

  it("reads a host's environment, capacity included", () => {
    const env = { HOST_ID: "host0001", HOST_TOKEN: "h".repeat(64), HOST_CAPACITY: "8", PORT: "20001", STATE_DIR: "/tmp/h" }
    expect(Schema.decodeUnknownSync(HostEnv)(env).HOST_CAPACITY).toBe(8)
    expect(ok(HostEnv, { ...env, HOST_CAPACITY: "0" })).toBe(false)
    expect(ok(HostEnv, { ...env, PORT: "http" })).toBe(false)
  })
})
