import { describe, expect, it } from "vitest"
import { checkSpawnQuota, classifySender, defaultLimits, withSpawnsInFlight, mayManage, removalReport, renameConflict, resolveAgent, uniqueName, type AgentRecord } from "../src/commands/policy.ts"

const agent = (agentName: string, spawnedBy = "alice", instanceId = agentName): AgentRecord => ({
  instanceId,
  conversationId: "conv",
  agentName,
  inboxId: `inbox-${instanceId}`,
  spawnedBy,
  spawnedAt: new Date("2026-11-25T10:00:00Z"),
})

describe("which messages the manager reacts to", () => {
  const base = { selfInboxId: "ManagerInbox", isSpawnedAgent: false }
  it("ignores its own messages, whatever the case of the inbox id", () => {
    expect(classifySender({ ...base, senderInboxId: "managerinbox" })).toBe("self")
  })
  it("ignores agents it spawned, even when their profile says human", () => {
    expect(classifySender({ ...base, senderInboxId: "x", isSpawnedAgent: true, senderMemberKind: "human" })).toBe("spawned-agent")
  })
  it("tells a declared agent (Convos profile memberKind Agent) from a person, without ignoring it", () => {
    expect(classifySender({ ...base, senderInboxId: "x", senderMemberKind: "agent" })).toBe("agent")
  })
  it("reacts to people", () => {
    expect(classifySender({ ...base, senderInboxId: "x" })).toBe("human")
    expect(classifySender({ ...base, senderInboxId: "x", senderMemberKind: "human" })).toBe("human")
  })
})

describe("spawn quotas", () => {
  const now = new Date("2026-11-25T12:00:00Z")
  const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000)
  /** A sender seen before, and a manager far from its global bounds. */
  const global = { recentSpawns: [], liveAgents: 0, senderKnown: true }

  it("counts spawns that passed their check but are not recorded yet, for the sender and for the manager", () => {
    const limits = { ...defaultLimits, spawnsPerSenderPerHour: 2, spawnsPerHour: 3, liveAgents: 10 }
    const facts = { recentSpawns: [minutesAgo(5)], global: { recentSpawns: [minutesAgo(5)], liveAgents: 1, senderKnown: true } }
    expect(checkSpawnQuota({ liveAgentsHere: 0, ...withSpawnsInFlight(facts, { mine: 0, all: 0 }, now), limits, now })).toEqual({ ok: true })
    // One of this sender's in flight: its second of two.
    expect(checkSpawnQuota({ liveAgentsHere: 0, ...withSpawnsInFlight(facts, { mine: 1, all: 1 }, now), limits, now })).toMatchObject({ ok: false, reason: "rate_limited" })
    // Two of others in flight: the manager's third of three this hour.
    expect(checkSpawnQuota({ liveAgentsHere: 0, ...withSpawnsInFlight(facts, { mine: 0, all: 2 }, now), limits, now })).toMatchObject({ ok: false, reason: "busy" })
    expect(withSpawnsInFlight(facts, { mine: 0, all: 2 }, now).global.liveAgents).toBe(3)
  })

  it("allows a spawn under both limits", () => {
    expect(checkSpawnQuota({ liveAgentsHere: 4, recentSpawns: [minutesAgo(5)], global, limits: defaultLimits, now })).toEqual({ ok: true })
  })
  it("refuses a sixth agent in one conversation by default", () => {
    expect(checkSpawnQuota({ liveAgentsHere: 5, recentSpawns: [], global, limits: defaultLimits, now })).toEqual({
      ok: false,
      reason: "conversation_full",
      limit: 5,
    })
  })
  it("refuses the eleventh spawn in an hour and says when the oldest one frees a slot", () => {
    const recent = Array.from({ length: 10 }, (_, i) => minutesAgo(50 - i))
    expect(checkSpawnQuota({ liveAgentsHere: 0, recentSpawns: recent, global, limits: defaultLimits, now })).toEqual({
      ok: false,
      reason: "rate_limited",
      limit: 10,
      retryInMinutes: 10,
    })
  })
  it("does not count spawns older than an hour", () => {
    const recent = [...Array.from({ length: 9 }, () => minutesAgo(10)), minutesAgo(61)]
    expect(checkSpawnQuota({ liveAgentsHere: 0, recentSpawns: recent, global, limits: defaultLimits, now }).ok).toBe(true)
  })
  it("honours configured limits", () => {
    const limits = { ...defaultLimits, agentsPerConversation: 1, spawnsPerSenderPerHour: 2 }
    expect(checkSpawnQuota({ liveAgentsHere: 1, recentSpawns: [], global, limits, now }).ok).toBe(false)
    expect(checkSpawnQuota({ liveAgentsHere: 0, recentSpawns: [minutesAgo(1), minutesAgo(2)], global, limits, now })).toMatchObject({
      reason: "rate_limited",
    })
  })
  // issue 14 #3: inbox ids are free, so the bounds that matter hold across senders.
  it("gives a sender never seen before a smaller hourly budget", () => {
    const fresh = { ...global, senderKnown: false }
    const three = [minutesAgo(3), minutesAgo(2), minutesAgo(1)]
    expect(checkSpawnQuota({ liveAgentsHere: 0, recentSpawns: three, global: fresh, limits: defaultLimits, now })).toEqual({
      ok: false,
      reason: "rate_limited",
      limit: 3,
      retryInMinutes: 57,
    })
    expect(checkSpawnQuota({ liveAgentsHere: 0, recentSpawns: three, global, limits: defaultLimits, now }).ok).toBe(true)
  })
  it("stops every sender once the manager has spawned its hourly total, and says when it frees", () => {
    const many = { ...global, recentSpawns: Array.from({ length: 60 }, (_, i) => minutesAgo(59 - i / 10)) }
    expect(checkSpawnQuota({ liveAgentsHere: 0, recentSpawns: [], global: many, limits: defaultLimits, now })).toEqual({
      ok: false,
      reason: "busy",
      retryInMinutes: 1,
    })
  })
  it("stops every sender while the manager holds its most live agents", () => {
    const full = { ...global, liveAgents: 100 }
    expect(checkSpawnQuota({ liveAgentsHere: 0, recentSpawns: [], global: full, limits: defaultLimits, now })).toEqual({
      ok: false,
      reason: "busy",
      retryInMinutes: null,
    })
  })
})

describe("who may manage an agent", () => {
  const chef = agent("Chef", "alice")
  it("lets the member who spawned it", () => {
    expect(mayManage({ actorInboxId: "ALICE", actorIsAdmin: false, agent: chef })).toBe(true)
  })
  it("lets a group admin", () => {
    expect(mayManage({ actorInboxId: "bob", actorIsAdmin: true, agent: chef })).toBe(true)
  })
  it("refuses anyone else", () => {
    expect(mayManage({ actorInboxId: "bob", actorIsAdmin: false, agent: chef })).toBe(false)
  })
})

describe("resolving an agent by what the user wrote", () => {
  const agents = [agent("Trip Planner"), agent("Chef"), agent("Chef Remy", "alice", "remy")]
  it("matches names case-insensitively, with articles and a trailing 'bot'", () => {
    expect(resolveAgent("the trip planner", agents)).toMatchObject({ kind: "found", agent: { agentName: "Trip Planner" } })
    expect(resolveAgent("Trip Planner bot", agents)).toMatchObject({ kind: "found", agent: { agentName: "Trip Planner" } })
  })
  it("prefers an exact name over partial ones", () => {
    expect(resolveAgent("chef", agents)).toMatchObject({ kind: "found", agent: { agentName: "Chef" } })
  })
  it("accepts a unique partial match", () => {
    expect(resolveAgent("planner", agents)).toMatchObject({ kind: "found", agent: { agentName: "Trip Planner" } })
    expect(resolveAgent("remy", agents)).toMatchObject({ kind: "found", agent: { agentName: "Chef Remy" } })
  })
  it("asks rather than guesses when two agents match", () => {
    expect(resolveAgent("chef", [agent("Chef", "a", "1"), agent("chef", "b", "2")])).toMatchObject({ kind: "ambiguous" })
  })
  it("reports an unknown agent", () => {
    expect(resolveAgent("sommelier", agents)).toEqual({ kind: "not_found" })
    expect(resolveAgent("the", agents)).toEqual({ kind: "not_found" })
  })
})

describe("rename conflicts", () => {
  it("refuses the agent's own name and another agent's name here, in any case, and allows a new one", () => {
    const chef = agent("Chef")
    const poet = agent("Poet", "a", "2")
    expect(renameConflict("the chef", chef, [chef, poet])).toBe("unchanged")
    expect(renameConflict("POET", chef, [chef, poet])).toBe("taken")
    expect(renameConflict("Remy", chef, [chef, poet])).toBeNull()
  })
})

describe("unique names", () => {
  it("numbers a second agent of the same name", () => {
    expect(uniqueName("Chef", [agent("Chef")])).toBe("Chef 2")
    expect(uniqueName("Chef", [agent("Chef"), agent("Chef 2", "a", "2")])).toBe("Chef 3")
    expect(uniqueName("Chef", [agent("Trip Planner")])).toBe("Chef")
  })
})

describe("what a removal reply may say", () => {
  it("says 'left' only when the member list no longer has the agent", () => {
    expect(removalReport({ inGroup: true, removeRefused: false, stillMember: false, askedToLeave: true })).toBe("left")
    expect(removalReport({ inGroup: true, removeRefused: false, stillMember: true, askedToLeave: false })).toBe("still_member")
    expect(removalReport({ inGroup: true, removeRefused: true, stillMember: true, askedToLeave: false })).toBe("still_member_not_allowed")
  })
  it("says 'leaving' when the agent is still listed but has asked the group's admins to remove it", () => {
    expect(removalReport({ inGroup: true, removeRefused: true, stillMember: true, askedToLeave: true })).toBe("leaving")
    expect(removalReport({ inGroup: true, removeRefused: false, stillMember: true, askedToLeave: true })).toBe("leaving")
  })
  it("for an agent spawned from a 1:1 (it lives in its own conversation) says only that it is shut down", () => {
    expect(removalReport({ inGroup: false, removeRefused: false, stillMember: false, askedToLeave: false })).toBe("shut_down")
  })
})
