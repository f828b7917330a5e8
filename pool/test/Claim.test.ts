import { describe, expect, it } from "vitest"
import { joinUrlProblem, validateClaim, validateReconfigure } from "../src/domain/Claim.ts"

describe("joinUrlProblem", () => {
  it("accepts Convos invite links of the pool's environment", () => {
    expect(joinUrlProblem("https://dev.convos.org/v2?i=abc", "dev")).toBeNull()
    expect(joinUrlProblem("https://popup.convos.org/v2?i=abc", "production")).toBeNull()
    expect(joinUrlProblem("https://convos.app/join/abc", "production")).toBeNull()
    expect(joinUrlProblem("convos://join/abc", "dev")).toBeNull()
  })
  it("refuses an invite of the other environment, with a message that says so", () => {
    expect(joinUrlProblem("https://popup.convos.org/v2?i=abc", "dev")).toMatch(/production invite/)
    expect(joinUrlProblem("https://dev.convos.org/v2?i=abc", "production")).toMatch(/dev invite/)
  })
  it("refuses other hosts, schemes and links without a code", () => {
    expect(joinUrlProblem("https://evil.example/v2?i=abc", "dev")).toMatch(/Convos invite URL/)
    expect(joinUrlProblem("javascript:alert(1)", "dev")).toMatch(/Convos invite URL/)
    expect(joinUrlProblem("http://popup.convos.org/v2?i=abc", "production")).toMatch(/Convos invite URL/)
    expect(joinUrlProblem("https://dev.convos.org/v2", "dev")).toMatch(/no invite code/)
  })
  it("accepts only the invite forms the invite parser reads (issue 14 #7)", () => {
    expect(joinUrlProblem("convos:x", "dev")).toMatch(/Convos invite URL/)
    expect(joinUrlProblem("convos://x/abc", "dev")).toMatch(/Convos invite URL/)
    expect(joinUrlProblem("convos://join/a b", "dev")).toMatch(/Convos invite URL/)
    expect(joinUrlProblem("https://dev.convos.org/v2?i=<script>", "dev")).toMatch(/no valid invite code/)
    expect(joinUrlProblem("https://convos.app/join/abc*def", "production")).toBeNull()
  })
})

describe("validateClaim", () => {
  it("fills defaults and picks the mode from joinUrl", () => {
    const created = validateClaim({}, "dev")
    expect(created).toMatchObject({ ok: true, request: { agentName: "Assistant", mode: "create" } })
    const joined = validateClaim({ joinUrl: " https://dev.convos.org/v2?i=x " }, "dev")
    expect(joined).toMatchObject({ ok: true, request: { mode: "join", joinUrl: "https://dev.convos.org/v2?i=x" } })
  })
  it("requires a conversation and an adder to add an agent", () => {
    expect(validateClaim({ mode: "add" }, "dev")).toMatchObject({ ok: false, error: /conversationId/ })
    const conversationId = "0123456789abcdef0123456789abcdef"
    expect(validateClaim({ mode: "add", conversationId: "c" }, "dev")).toMatchObject({ ok: false, error: /conversationId must be/ })
    expect(validateClaim({ mode: "add", conversationId }, "dev")).toMatchObject({ ok: false, error: /addedBy/ })
    expect(validateClaim({ mode: "add", conversationId, addedBy: "m" }, "dev")).toMatchObject({ ok: false, error: /addedBy must be/ })
    expect(validateClaim({ mode: "add", conversationId, addedBy: "a".repeat(64) }, "dev").ok).toBe(true)
  })
  it("keeps known skill tags once each, and gives a free-form agent web, memory and reminders", () => {
    expect(validateClaim({ skills: ["memory", "sms"] }, "dev")).toMatchObject({ ok: true, request: { skills: ["memory", "sms"] } })
    expect(validateClaim({ skills: [] }, "dev")).toMatchObject({ ok: true, request: { skills: [] } })
    expect(validateClaim({}, "dev")).toMatchObject({ ok: true, request: { skills: ["web", "memory", "reminders"] } })
    expect(validateClaim({ skills: ["web", "teleport"] }, "dev")).toMatchObject({ ok: false, error: /skills must be some of web, memory, reminders, email, sms/ })
    expect(validateClaim({ skills: ["web", "web"] }, "dev")).toEqual({ ok: false, error: "skills must not repeat" })
  })
  it("refuses names that are empty, too long or multi-line", () => {
    expect(validateClaim({ agentName: "" }, "dev").ok).toBe(false)
    expect(validateClaim({ agentName: "x".repeat(65) }, "dev").ok).toBe(false)
    expect(validateClaim({ agentName: "a\nb" }, "dev").ok).toBe(false)
  })
})

describe("validateReconfigure", () => {
  it("trims what it is given and keeps only the fields that change", () => {
    expect(validateReconfigure({ agentName: " Tour Guide " })).toEqual({ ok: true, request: { agentName: "Tour Guide" } })
    expect(validateReconfigure({ instructions: " Only Japan. " })).toEqual({ ok: true, request: { instructions: "Only Japan." } })
  })
  it("refuses an empty change and the values a claim would refuse", () => {
    expect(validateReconfigure({})).toEqual({ ok: false, error: "give agentName, instructions or both" })
    expect(validateReconfigure({ agentName: "two\nlines" })).toEqual({
      ok: false,
      error: "agentName must be one line of visible text (no control, bidi or zero-width characters)",
    })
    expect(validateClaim({ agentName: "Trip\u202ePlanner" }, "dev").ok, "a bidi override is refused, as the contract refuses it").toBe(false)
    expect(validateReconfigure({ instructions: "  " })).toEqual({ ok: false, error: "instructions must not be empty" })
  })
})

describe("validateClaim managerInboxId", () => {
  it("passes the manager's inbox id through and refuses anything that is not one", () => {
    const manager = "e".repeat(64)
    expect(validateClaim({ managerInboxId: manager }, "dev")).toMatchObject({ ok: true, request: { managerInboxId: manager } })
    expect(validateClaim({ managerInboxId: "manager" }, "dev")).toMatchObject({ ok: false, error: expect.stringContaining("managerInboxId") })
  })
})
