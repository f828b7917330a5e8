import { describe, expect, it } from "vitest"
import { templates } from "../../pool/src/domain/templates.ts"
import { replies } from "../src/commands/replies.ts"

describe('the "templates" reply', () => {
  it("lists a long catalog as one line per category, every template named once, with how to add one", () => {
    const lines = replies.templates(templates).split("\n")
    const categories = new Set(templates.map((t) => t.category))
    expect(lines[0]).toBe("Ready-made agents (or describe your own):")
    expect(lines).toHaveLength(categories.size + 2)
    for (const t of templates) expect(lines.filter((l) => l.includes(`${t.emoji} ${t.name}`))).toHaveLength(1)
    expect(lines.at(-1)).toBe(`Say "spawn a ${templates[0]!.name.toLowerCase()} here" to add one.`)
  })

  it("lists a short catalog with each description", () => {
    const few = templates.slice(0, 3)
    expect(replies.templates(few).split("\n").slice(1)).toEqual(few.map((t) => `${t.emoji} ${t.name}: ${t.description}`))
  })
})
