import { describe, expect, it } from "vitest"
import { decideManners, initialMannersState, isAddressedTo, type MannersState } from "./manners.ts"

const policy = { maxBotDepth: 2, maxBotAnswersPerWindow: 3, windowMs: 60_000 }

describe("isAddressedTo", () => {
  it("matches the name as a whole word in any case, with or without @", () => {
    expect(isAddressedTo("hey trip planner, any ideas?", "Trip Planner")).toBe(true)
    expect(isAddressedTo("@Chef what now", "Chef")).toBe(true)
    expect(isAddressedTo("the chefs are here", "Chef")).toBe(false)
    expect(isAddressedTo("anything", "  ")).toBe(false)
  })
})

describe("decideManners", () => {
  it("always answers humans and resets the bot chain", () => {
    const state: MannersState = { botDepth: 5, botAnswerTimes: [] }
    const verdict = decideManners(state, { senderIsAgent: false, text: "hi", now: 0 }, "Chef", policy)
    expect(verdict.answer).toBe(true)
    expect(verdict.next.botDepth).toBe(0)
  })
  it("ignores an agent that does not address us by name", () => {
    const verdict = decideManners(initialMannersState, { senderIsAgent: true, text: "hello all", now: 0 }, "Chef", policy)
    expect(verdict).toMatchObject({ answer: false, reason: "agent_not_addressing_us" })
  })
  it("stops answering agents once the bot-to-bot chain is deeper than the limit", () => {
    let state = initialMannersState
    const answers: Array<boolean> = []
    for (let i = 0; i < 4; i++) {
      const verdict = decideManners(state, { senderIsAgent: true, text: "Chef?", now: i }, "Chef", policy)
      answers.push(verdict.answer)
      state = verdict.next
    }
    expect(answers).toEqual([true, true, false, false])
    // A human message lets agents be heard again.
    state = decideManners(state, { senderIsAgent: false, text: "ok", now: 10 }, "Chef", policy).next
    expect(decideManners(state, { senderIsAgent: true, text: "Chef?", now: 11 }, "Chef", policy).answer).toBe(true)
  })
  it("rate-limits answers to agents within the window and allows them again after it", () => {
    let state: MannersState = { botDepth: 0, botAnswerTimes: [0, 1, 2] }
    const limited = decideManners(state, { senderIsAgent: true, text: "Chef?", now: 3 }, "Chef", policy)
    expect(limited).toMatchObject({ answer: false, reason: "bot_rate_limited" })
    state = { botDepth: 0, botAnswerTimes: [0, 1, 2] }
    expect(decideManners(state, { senderIsAgent: true, text: "Chef?", now: 70_000 }, "Chef", policy).answer).toBe(true)
  })
})
