import { describe, expect, it } from "vitest"
import { defaultTrafficLimits, emptyTraffic, heard, mayReply, pauseNotice, replied, type ConversationTraffic } from "../src/commands/traffic.ts"

const limits = defaultTrafficLimits
const t0 = 1_000_000

/** Plays a message for the manager and, when allowed, its reply; returns the new state and whether it replied. */
const exchange = (
  state: ConversationTraffic,
  facts: { sender: string; isAgent: boolean; understood?: boolean; now?: number },
) => {
  const f = { sender: facts.sender, isAgent: facts.isAgent, understood: facts.understood ?? true, now: facts.now ?? t0 }
  const afterHeard = heard(state, { isAgent: f.isAgent, forManager: true, now: f.now })
  const silence = mayReply(afterHeard, f, limits)
  return { state: silence === null ? replied(afterHeard, f, limits) : afterHeard, silence }
}

/** `n` exchanges of an agent with the manager, a second apart from `from`. */
const agentExchanges = (n: number, from = t0) => {
  let state = emptyTraffic
  for (let i = 0; i < n; i++) state = exchange(state, { sender: "cli", isAgent: true, now: from + i * 1_000 }).state
  return state
}

describe("loop limits for agents", () => {
  it("a quiet gap ends an agent chain: a person on a client that declares everyone an agent is heard again", () => {
    const state = agentExchanges(10)
    const at = (ms: number) => heard(state, { isAgent: true, forManager: true, now: ms })
    expect(mayReply(at(t0 + 10_000), { sender: "cli", isAgent: true, understood: true, now: t0 + 10_000 }, limits)).toBe("agent-depth")
    // Still inside the gap (since the last message to the manager): the chain goes on.
    const lastAt = state.lastAt!
    expect(at(lastAt + limits.chainGapMs - 1).sinceHuman).toBe(state.sinceHuman)
    const later = at(lastAt + limits.chainGapMs)
    expect(later.sinceHuman).toBe(0)
    expect(mayReply(later, { sender: "cli", isAgent: true, understood: true, now: lastAt + limits.chainGapMs }, limits)).toBeNull()
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
    // Each answer and the agent message it answers add one each to the depth: at most depth/2 answers, far below 20.
    expect(answers).toBeGreaterThan(0)
    expect(answers).toBeLessThanOrEqual(Math.ceil(limits.agentDepth / 2))
  })

  it("agent messages that are not for the manager do not count: a CLI user talking to the agents keeps its commands", () => {
    let state = emptyTraffic
    for (let i = 0; i < 50; i++) state = heard(state, { isAgent: true, forManager: false, now: t0 + i })
    expect(state).toEqual(emptyTraffic)
    expect(exchange(state, { sender: "cli", isAgent: true, now: t0 + 60 }).silence).toBeNull()
  })

  it("a person speaking resets the depth, and a person is answered even past it", () => {
    let state = agentExchanges(10)
    expect(mayReply(state, { sender: "bot", isAgent: true, understood: true, now: t0 }, limits)).toBe("agent-depth")
    expect(mayReply(state, { sender: "alice", isAgent: false, understood: true, now: t0 }, limits)).toBeNull()
    // A person's message resets the chain, whether or not it is for the manager.
    state = heard(state, { isAgent: false, forManager: false, now: t0 })
    expect(state.sinceHuman).toBe(0)
    expect(mayReply(heard(state, { isAgent: true, forManager: true, now: t0 }), { sender: "bot", isAgent: true, understood: true, now: t0 }, limits)).toBeNull()
  })

  it("the first message the depth stops gets the pause notice, once per chain", () => {
    const stopped = agentExchanges(3)
    const silence = mayReply(stopped, { sender: "cli", isAgent: true, understood: true, now: t0 + 3_000 }, limits)
    expect(silence).toBe("agent-depth")
    expect(pauseNotice(stopped, silence)).toBe(true)
    const told = replied(stopped, { sender: "cli", isAgent: true, understood: true, now: t0 + 3_000, pause: true }, limits)
    expect(pauseNotice(told, mayReply(told, { sender: "cli", isAgent: true, understood: true, now: t0 + 4_000 }, limits))).toBe(false)
    // A new chain (a person spoke) is told again when it reaches the depth.
    const person = heard(told, { isAgent: false, forManager: false, now: t0 + 5_000 })
    expect(person.pauseTold).toBe(false)
    expect(pauseNotice(person, null)).toBe(false)
  })

  it("caps answers to agents per conversation in a window, even with people talking in between", () => {
    let state = emptyTraffic
    let answers = 0
    for (let i = 0; i < 12; i++) {
      state = heard(state, { isAgent: false, forManager: false, now: t0 }) // a person keeps the depth at zero
      const step = exchange(state, { sender: `agent-${i}`, isAgent: true, now: t0 + i })
      state = step.state
      if (step.silence === null) answers++
    }
    expect(answers).toBe(limits.agentAnswersPerWindow)
    // The window passes: agents are answered again.
    state = heard(state, { isAgent: false, forManager: false, now: t0 })
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
