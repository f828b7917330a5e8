import { describe, expect, it } from "vitest"
import { defaultTrafficLimits, emptyTraffic, heard, mayReply, replied, type ConversationTraffic } from "../src/commands/traffic.ts"

const limits = defaultTrafficLimits
const t0 = 1_000_000

/** Plays a message and, when allowed, the manager's reply; returns the new state and whether it replied. */
const exchange = (
  state: ConversationTraffic,
  facts: { sender: string; isAgent: boolean; understood?: boolean; now?: number },
) => {
  const f = { sender: facts.sender, isAgent: facts.isAgent, understood: facts.understood ?? true, now: facts.now ?? t0 }
  const afterHeard = heard(state, { isAgent: f.isAgent, now: f.now })
  const silence = mayReply(afterHeard, f, limits)
  return { state: silence === null ? replied(afterHeard, f, limits) : afterHeard, silence }
}

describe("loop limits for agents", () => {
  it("a quiet gap ends an agent chain: a person on a client that declares everyone an agent is heard again", () => {
    let state = emptyTraffic
    for (let i = 0; i < 10; i++) state = heard(state, { isAgent: true, now: t0 + i * 1_000 })
    expect(mayReply(state, { sender: "cli", isAgent: true, understood: true, now: t0 + 10_000 }, limits)).toBe("agent-depth")
    // Still inside the gap: the chain goes on.
    expect(heard(state, { isAgent: true, now: t0 + 9_000 + limits.chainGapMs - 1 }).sinceHuman).toBe(11)
    const later = heard(state, { isAgent: true, now: t0 + 9_000 + limits.chainGapMs })
    expect(later.sinceHuman).toBe(1)
    expect(mayReply(later, { sender: "cli", isAgent: true, understood: true, now: t0 + 9_000 + limits.chainGapMs }, limits)).toBeNull()
  })

  it("two agents asking the manager in turn are answered until the depth limit, then not", () => {
    let state = emptyTraffic
    let answers = 0
    for (let i = 0; i < 20; i++) {
      const step = exchange(state, { sender: i % 2 === 0 ? "agent-a" : "agent-b", isAgent: true, now: t0 + i * 1_000 })
      state = step.state
      if (step.silence === null) answers++
      else expect(["agent-depth", "agent-rate"]).toContain(step.silence)
    }
    // Each answer and each agent message add one to the depth: at most depth/2 answers, far below 20.
    expect(answers).toBeGreaterThan(0)
    expect(answers).toBeLessThanOrEqual(Math.ceil(limits.agentDepth / 2))
  })

  it("a person speaking resets the depth, and a person is answered even past it", () => {
    let state = emptyTraffic
    for (let i = 0; i < 10; i++) state = heard(state, { isAgent: true, now: t0 })
    expect(mayReply(state, { sender: "bot", isAgent: true, understood: true, now: t0 }, limits)).toBe("agent-depth")
    expect(mayReply(state, { sender: "alice", isAgent: false, understood: true, now: t0 }, limits)).toBeNull()
    state = heard(state, { isAgent: false, now: t0 })
    expect(heard(state, { isAgent: true, now: t0 }).sinceHuman).toBe(1)
    expect(mayReply(heard(state, { isAgent: true, now: t0 }), { sender: "bot", isAgent: true, understood: true, now: t0 }, limits)).toBeNull()
  })

  it("caps answers to agents per conversation in a window, even with people talking in between", () => {
    let state = emptyTraffic
    let answers = 0
    for (let i = 0; i < 12; i++) {
      state = heard(state, { isAgent: false, now: t0 }) // a person keeps the depth at zero
      const step = exchange(state, { sender: `agent-${i}`, isAgent: true, now: t0 + i })
      state = step.state
      if (step.silence === null) answers++
    }
    expect(answers).toBe(limits.agentAnswersPerWindow)
    // The window passes: agents are answered again.
    state = heard(state, { isAgent: false, now: t0 })
    expect(exchange(state, { sender: "agent-x", isAgent: true, now: t0 + limits.windowMs + 100 }).silence).toBeNull()
  })
})

describe("reply budget, whoever the sender is", () => {
  it("an undeclared bot that keeps sending what the manager cannot understand gets two 'didn't get that', then silence", () => {
    let state = emptyTraffic
    const silences: Array<string | null> = []
    for (let i = 0; i < 6; i++) {
      const step = exchange(state, { sender: "chatty", isAgent: false, understood: false, now: t0 + i * 10_000 })
      state = step.state
      silences.push(step.silence)
    }
    expect(silences).toEqual([null, null, "misunderstood-streak", "misunderstood-streak", "misunderstood-streak", "misunderstood-streak"])
    // A clear request is still answered, and ends the streak.
    const clear = exchange(state, { sender: "chatty", isAgent: false, understood: true, now: t0 + 70_000 })
    expect(clear.silence).toBeNull()
    expect(exchange(clear.state, { sender: "chatty", isAgent: false, understood: false, now: t0 + 71_000 }).silence).toBeNull()
  })

  it("caps replies per sender in a window, even for clear requests", () => {
    let state = emptyTraffic
    const results = Array.from({ length: 10 }, (_, i) => {
      const step = exchange(state, { sender: "Fast", isAgent: false, now: t0 + i })
      state = step.state
      return step.silence
    })
    expect(results.filter((r) => r === null)).toHaveLength(limits.repliesPerSenderPerWindow)
    expect(results.at(-1)).toBe("sender-budget")
    // Another person in the same conversation is still answered.
    expect(exchange(state, { sender: "bob", isAgent: false, now: t0 + 20 }).silence).toBeNull()
  })

  it("caps replies per conversation in a window", () => {
    let state = emptyTraffic
    for (let i = 0; i < limits.repliesPerConversationPerWindow; i++) state = exchange(state, { sender: `p${i}`, isAgent: false, now: t0 + i }).state
    expect(exchange(state, { sender: "newcomer", isAgent: false, now: t0 + 100 }).silence).toBe("conversation-budget")
    expect(exchange(state, { sender: "newcomer", isAgent: false, now: t0 + limits.windowMs + 100 }).silence).toBeNull()
  })
})
