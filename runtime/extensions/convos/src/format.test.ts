import { describe, expect, it } from "vitest"
import { chunkText, planReply, stripMarkdown } from "./format.ts"

describe("stripMarkdown", () => {
  it("removes emphasis, headings, inline code and fences but keeps the words and code", () => {
    const input = "# Plan\n\n**Bold** and _italic_ and `code`.\n\n```ts\nconst x = 1\n```\n> quoted"
    expect(stripMarkdown(input)).toBe("Plan\n\nBold and italic and code.\n\nconst x = 1\nquoted")
  })
  it("turns links into 'label (url)' and keeps bare urls", () => {
    expect(stripMarkdown("see [the docs](https://x.org/a) or [https://y.org](https://y.org)")).toBe(
      "see the docs (https://x.org/a) or https://y.org",
    )
  })
  it("turns a markdown table into labelled plain lines", () => {
    const table = "Prices:\n| item | cost |\n|---|---|\n| tea | 2 |\n| cake | 4 |\n"
    expect(stripMarkdown(table)).toBe("Prices:\nitem: tea, cost: 2\nitem: cake, cost: 4")
  })
  it("keeps snake_case words and arithmetic stars intact", () => {
    expect(stripMarkdown("use my_var_name and 2 * 3 * 4")).toBe("use my_var_name and 2 * 3 * 4")
  })
  it("normalises bullet markers to dashes", () => {
    expect(stripMarkdown("* one\n+ two\n- three")).toBe("- one\n- two\n- three")
  })
})

describe("chunkText", () => {
  it("keeps short text in one chunk", () => {
    expect(chunkText("hello", 4000)).toEqual(["hello"])
  })
  it("splits at 4000 characters on paragraph boundaries with no chunk over the limit", () => {
    const paragraph = "word ".repeat(300).trim() // 1499 chars
    const text = [paragraph, paragraph, paragraph, paragraph].join("\n\n")
    const chunks = chunkText(text)
    expect(chunks.length).toBe(2)
    for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(4000)
    expect(chunks.join("\n\n")).toBe(text)
  })
  it("hard-splits a long unbroken string without splitting a surrogate pair", () => {
    const text = "a".repeat(9) + "😀" + "b".repeat(5)
    const chunks = chunkText(text, 10)
    expect(chunks[0]).toBe("a".repeat(9))
    expect(chunks.join("")).toBe(text)
  })
  it("rejects a non-positive limit", () => {
    expect(() => chunkText("x", 0)).toThrow(/positive/)
  })
})

describe("planReply", () => {
  it("puts the reply reference on the first chunk only", () => {
    const plan = planReply(`${"x ".repeat(1500)}\n\n${"y ".repeat(1500)}`, "msg-1")
    expect(plan.length).toBe(2)
    expect(plan[0]?.replyTo).toBe("msg-1")
    expect(plan[1]).not.toHaveProperty("replyTo")
  })
  it("strips markdown before chunking", () => {
    expect(planReply("**hi**")).toEqual([{ text: "hi" }])
  })
})
