import { describe, expect, it } from "vitest"
import { decideManners, initialMannersState, isAddressedTo, isQuestion, type MannersMessage, type MannersState } from "./manners.ts"

const policy = { maxBotDepth: 2, maxBotAnswersPerWindow: 3, windowMs: 60_000, chainGapMs: 30_000 }
const fromAgent = (text: string, now: number, extra: Partial<MannersMessage> = {}): MannersMessage => ({
  senderIsAgent: true, text, repliesToUs: false, weAreTheOnlyAgent: false, now, ...extra,
})

describe("isAddressedTo", () => {
  it("matches the name as a whole word in any case, with or without @", () => {
    expect(isAddressedTo("hey trip planner, any ideas?", "Trip Planner")).toBe(true)
    expect(isAddressedTo("@Chef what now", "Chef")).toBe(true)
    expect(isAddressedTo("the chefs are here", "Chef")).toBe(false)
    expect(isAddressedTo("anything", "  ")).toBe(false)
  })
})

describe("isQuestion", () => {
  it("sees question marks of several scripts, and nothing else", () => {
    expect(["where to?", "¿dónde", "どこ？", "أين؟"].map(isQuestion)).toEqual([true, true, true, true])
    expect(isQuestion("plan a trip to Lisbon")).toBe(false)
  })
})

describe("decideManners", () => {
  it("always answers people and ends the agent chain", () => {
    const state: MannersState = { botDepth: 5, botAnswerTimes: [], lastMessageAt: 0 }
    const verdict = decideManners(state, { senderIsAgent: false, text: "hi", repliesToUs: false, weAreTheOnlyAgent: false, now: 0 }, "Chef", policy)
    expect(verdict.answer).toBe(true)
    expect(verdict.next.botDepth).toBe(0)
  })

  it("answers an agent-marked sender (a CLI user) who names us, replies to us, or asks an unnamed question when we are the only agent", () => {
    const s = initialMannersState
    expect(decideManners(s, fromAgent("Trip Planner, where should we eat?", 0), "Trip Planner", policy).answer).toBe(true)
    expect(decideManners(s, fromAgent("sounds good", 0, { repliesToUs: true }), "Trip Planner", policy).answer).toBe(true)
    expect(decideManners(s, fromAgent("what should we see in Lisbon?", 0, { weAreTheOnlyAgent: true }), "Trip Planner", policy).answer).toBe(true)
  })

  it("does not answer an agent-marked sender whose message is not for us", () => {
    // Another agent is here: an unnamed question may be for it.
    expect(decideManners(initialMannersState, fromAgent("what should we see?", 0), "Chef", policy)).toMatchObject({ answer: false, reason: "agent_not_addressing_us" })
    // We are the only agent, but it is a statement to the room, not a question.
    expect(decideManners(initialMannersState, fromAgent("booked the hotel", 0, { weAreTheOnlyAgent: true }), "Chef", policy)).toMatchObject({
      answer: false,
      reason: "agent_not_addressing_us",
    })
  })

  it("stops answering agents once the chain of agent messages is deeper than the limit, until a person speaks", () => {
    let state = initialMannersState
    const answers: Array<boolean> = []
    for (let i = 0; i < 4; i++) {
      const verdict = decideManners(state, fromAgent("Chef?", i), "Chef", policy)
      answers.push(verdict.answer)
      state = verdict.next
    }
    expect(answers).toEqual([true, true, false, false])
    state = decideManners(state, { senderIsAgent: false, text: "ok", repliesToUs: false, weAreTheOnlyAgent: false, now: 10 }, "Chef", policy).next
    expect(decideManners(state, fromAgent("Chef?", 11), "Chef", policy).answer).toBe(true)
  })

  it("counts agent messages not meant for us in the chain too", () => {
    let state = initialMannersState
    state = decideManners(state, fromAgent("hello all", 0), "Chef", policy).next
    state = decideManners(state, fromAgent("anyone?", 1), "Chef", policy).next
    expect(decideManners(state, fromAgent("Chef?", 2), "Chef", policy)).toMatchObject({ answer: false, reason: "bot_chain_too_deep" })
  })

  it("starts a new chain after a quiet gap, so a person on the CLI who pauses is heard again", () => {
    const state: MannersState = { botDepth: 9, botAnswerTimes: [], lastMessageAt: 1_000 }
    expect(decideManners(state, fromAgent("Chef?", 1_000 + 29_999), "Chef", policy).answer).toBe(false)
    expect(decideManners(state, fromAgent("Chef?", 1_000 + 30_000), "Chef", policy)).toMatchObject({ answer: true, next: { botDepth: 1 } })
  })

  it("rate-limits answers to agents within the window and allows them again after it", () => {
    const state: MannersState = { botDepth: 0, botAnswerTimes: [0, 1, 2], lastMessageAt: 2 }
    expect(decideManners(state, fromAgent("Chef?", 3), "Chef", policy)).toMatchObject({ answer: false, reason: "bot_rate_limited" })
    expect(decideManners(state, fromAgent("Chef?", 70_000), "Chef", policy).answer).toBe(true)
  })
})
