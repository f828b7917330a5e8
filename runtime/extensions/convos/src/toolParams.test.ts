import { describe, expect, it } from "vitest"
import { record, requiredText, textResult } from "./toolParams.ts"

describe("record", () => {
  it("gives an object's fields, and {} for null, an array or a primitive", () => {
    expect(record({ to: "a" })).toEqual({ to: "a" })
    for (const value of [null, undefined, ["to"], "to", 7]) expect(record(value)).toEqual({})
    // An array's prototype methods (Array.prototype.at) never read as parameters.
    expect(record([]).at).toBeUndefined()
  })
})

describe("requiredText", () => {
  it("refuses a missing, non-string or blank value with '<name> is required'", () => {
    for (const params of [{}, { to: 5 }, { to: null }, { to: "   " }]) expect(() => requiredText(params, "to")).toThrow(/^to is required$/)
  })

  it("accepts a blank string when the caller checks it itself, but still refuses a missing one", () => {
    expect(requiredText({ what: "  " }, "what", { allowBlank: true })).toBe("  ")
    expect(() => requiredText({}, "what", { allowBlank: true })).toThrow(/^what is required$/)
  })

  it("refuses a value over max with '<name> is longer than <max> characters', counting before trimming", () => {
    expect(requiredText({ q: "abc" }, "q", { max: 3 })).toBe("abc")
    expect(() => requiredText({ q: "abcd" }, "q", { max: 3 })).toThrow(/^q is longer than 3 characters$/)
    expect(() => requiredText({ q: " abc " }, "q", { max: 3, trim: true })).toThrow(/^q is longer than 3 characters$/)
    expect(requiredText({ q: "x".repeat(10_000) }, "q")).toHaveLength(10_000)
  })

  it("hands the value back as given, or trimmed when asked", () => {
    expect(requiredText({ text: "  hi \n" }, "text")).toBe("  hi \n")
    expect(requiredText({ text: "  hi \n" }, "text", { trim: true })).toBe("hi")
  })
})

describe("textResult", () => {
  it("is one text block for the model, with the details beside it", () => {
    expect(textResult("done", { id: "m1" })).toEqual({ content: [{ type: "text", text: "done" }], details: { id: "m1" } })
  })
})
