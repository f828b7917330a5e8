/**
 * How well the rule-based path understands everyday phrasing: the main table (tuned on) and the held-out set (never
 * tuned on). Prints accuracy per intent kind and overall, and the actions understood where none was meant.
 */
import { describe, expect, it } from "vitest"
import { templates } from "../../pool/src/domain/templates.ts"
import { Intent, type MessageContext } from "../src/intent/Intent.ts"
import { parseByRules } from "../src/intent/rules.ts"
import { heldOut } from "./phrasings/heldout.ts"
import { mainTable } from "./phrasings/main.ts"
import { probe } from "./phrasings/probe.ts"
import { probe2 } from "./phrasings/probe2.ts"
import { contexts, report, score } from "./phrasings/table.ts"

const parse = (text: string, ctx: MessageContext) => parseByRules(text, ctx, templates)

/**
 * Set once the rules were grown, from the main table only (the target is 90 %): measured 100 %, floor a
 * little below so a new row the rules miss can be added and reported rather than tuned away the same day.
 */
const MAIN_FLOOR = 98

describe("phrasing table (rule-based understanding)", () => {
  it("has at least 300 main rows written across all kinds, a generous share of them chatter", () => {
    expect(mainTable.length).toBeGreaterThanOrEqual(300)
    expect(mainTable.filter(([, , e]) => e.kind === "none").length).toBeGreaterThanOrEqual(60)
    const kinds = new Set(mainTable.map(([, , e]) => e.kind))
    for (const kind of ["spawn", "list", "remove", "rename", "instruct", "join", "templates", "help", "none"] as const) {
      expect(kinds.has(kind)).toBe(true)
    }
  })

  it("only ever produces valid intents", () => {
    for (const [ctx, text] of [...mainTable, ...heldOut, ...probe, ...probe2]) {
      const intent = parse(text, contexts[ctx])
      expect(Intent.safeParse(intent).success, `${text} → ${JSON.stringify(intent)}`).toBe(true)
    }
  })

  it(`understands the main table (floor ${MAIN_FLOOR} %) and turns no chatter into an action`, () => {
    const main = score(mainTable, parse)
    console.log(report("main table", main, true))
    expect((100 * main.correct) / main.total).toBeGreaterThanOrEqual(MAIN_FLOOR)
    expect(main.falseActions).toEqual([])
    expect(main.wrongTargets).toEqual([])
  })

  it("reports the probe written after the rules (its first run found 8 false actions, since fixed)", () => {
    const probed = score(probe, parse)
    console.log(report("probe", probed, true))
    expect(probed.falseActions).toEqual([])
  })

  it("reports the second probe (first run: 61/70 = 87.1 %, no false action, one wrong target since fixed)", () => {
    const probed = score(probe2, parse)
    console.log(report("probe 2", probed, true))
    expect(probed.falseActions).toEqual([])
  })

  it("reports the held-out set as measured", () => {
    const held = score(heldOut, parse)
    // Failing rows stay unprinted: the held-out set is not for tuning.
    console.log(report("held-out set", held, false))
    expect(held.total).toBeGreaterThanOrEqual(100)
  })
})
