/**
 * The manager's decisions, as pure functions: whose messages it reacts to, who may manage which agent, the quotas,
 * and which agent a name refers to. The bot only gathers the facts and calls these.
 */

/** An agent the manager spawned, as stored in Postgres. */
export interface AgentRecord {
  readonly instanceId: string
  readonly conversationId: string
  readonly agentName: string
  readonly inboxId: string
  /** Inbox id of the member who asked for it. */
  readonly spawnedBy: string
  readonly spawnedAt: Date
}

export interface Limits {
  /** Live agents one conversation may hold, in a group or a 1:1 alike (default 5). */
  readonly agentsPerConversation: number
  /** Spawns one sender may ask for in a sliding hour (default 10). */
  readonly spawnsPerSenderPerHour: number
  /**
   * Spawns in a sliding hour for a sender the manager has never seen before (no spawn before this hour), default 3:
   * inbox ids cost nothing, so a fresh one must not get the full budget.
   */
  readonly spawnsPerNewSenderPerHour: number
  /** Spawns across all senders in a sliding hour (default 60): bounds what any number of inbox ids can drain. */
  readonly spawnsPerHour: number
  /** Live agents of this manager in all conversations (default 100). */
  readonly liveAgents: number
}

export const defaultLimits: Limits = {
  agentsPerConversation: 5,
  spawnsPerSenderPerHour: 10,
  spawnsPerNewSenderPerHour: 3,
  spawnsPerHour: 60,
  liveAgents: 100,
}

export type SenderKind = "self" | "spawned-agent" | "agent" | "human"

/**
 * Who wrote a message: the manager itself, an agent it spawned (anywhere), a member whose Convos profile in this
 * conversation declares it an agent (`memberKind` Agent), or a person (declared User, or nothing declared).
 * The manager never answers itself or an agent it spawned (its own agents' chatter must not start a loop with it);
 * a declared agent is answered like a person (addressed, or an obvious command: another agent may ask for a
 * helper), and loops are stopped by the limits of `traffic.ts`, not by silence.
 */
export const classifySender = (facts: {
  readonly senderInboxId: string
  readonly selfInboxId: string
  readonly isSpawnedAgent: boolean
  /** From the sender's Convos profile (`memberKind`) in this conversation, when known. */
  readonly senderMemberKind?: "agent" | "human" | undefined
}): SenderKind => {
  if (facts.senderInboxId.toLowerCase() === facts.selfInboxId.toLowerCase()) return "self"
  if (facts.isSpawnedAgent) return "spawned-agent"
  if (facts.senderMemberKind === "agent") return "agent"
  return "human"
}

export type SpawnVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: "conversation_full"; readonly limit: number }
  | { readonly ok: false; readonly reason: "rate_limited"; readonly limit: number; readonly retryInMinutes: number }
  /** The manager as a whole: too many spawns this hour, or too many live agents. */
  | { readonly ok: false; readonly reason: "busy"; readonly retryInMinutes: number | null }

/** What every sender together has done: the global bounds. */
export interface GlobalSpawnFacts {
  /** Spawn times of all senders in the last hour. */
  readonly recentSpawns: ReadonlyArray<Date>
  readonly liveAgents: number
  /** Whether this sender spawned anything before the last hour. */
  readonly senderKnown: boolean
}

const HOUR_MS = 60 * 60 * 1000

/** Whether one more spawn fits the quotas. `recentSpawns` are this sender's spawn times (any conversation). */
export const checkSpawnQuota = (facts: {
  readonly liveAgentsHere: number
  readonly recentSpawns: ReadonlyArray<Date>
  readonly global: GlobalSpawnFacts
  readonly limits: Limits
  readonly now: Date
}): SpawnVerdict => {
  const { limits, now, global } = facts
  if (facts.liveAgentsHere >= limits.agentsPerConversation) {
    return { ok: false, reason: "conversation_full", limit: limits.agentsPerConversation }
  }
  if (global.liveAgents >= limits.liveAgents) return { ok: false, reason: "busy", retryInMinutes: null }
  const all = minutesUntilFree(global.recentSpawns, limits.spawnsPerHour, now)
  if (all !== null) return { ok: false, reason: "busy", retryInMinutes: all }
  const own = global.senderKnown ? limits.spawnsPerSenderPerHour : limits.spawnsPerNewSenderPerHour
  const mine = minutesUntilFree(facts.recentSpawns, own, now)
  if (mine !== null) return { ok: false, reason: "rate_limited", limit: own, retryInMinutes: mine }
  return { ok: true }
}

/**
 * The quota facts with the spawns that passed their check but are not recorded yet counted as made `now`: so a check
 * and its reservation can be one short step, and the claims themselves run at once.
 */
export const withSpawnsInFlight = <F extends { readonly recentSpawns: ReadonlyArray<Date>; readonly global: GlobalSpawnFacts }>(
  facts: F,
  inFlight: { readonly mine: number; readonly all: number },
  now: Date,
): F => ({
  ...facts,
  recentSpawns: [...facts.recentSpawns, ...Array.from({ length: inFlight.mine }, () => now)],
  global: {
    ...facts.global,
    recentSpawns: [...facts.global.recentSpawns, ...Array.from({ length: inFlight.all }, () => now)],
    liveAgents: facts.global.liveAgents + inFlight.all,
  },
})

/** Null while fewer than `limit` spawns fall in the last hour; else the minutes until the oldest that counts leaves it. */
const minutesUntilFree = (spawns: ReadonlyArray<Date>, limit: number, now: Date): number | null => {
  const windowStart = now.getTime() - HOUR_MS
  const inWindow = spawns.map((d) => d.getTime()).filter((t) => t > windowStart && t <= now.getTime())
  if (inWindow.length < limit) return null
  const sorted = [...inWindow].sort((a, b) => a - b)
  const freesAt = sorted[inWindow.length - limit]! + HOUR_MS
  return Math.max(1, Math.ceil((freesAt - now.getTime()) / 60_000))
}

/** Only the member who spawned an agent, or a group admin, may remove, rename or re-instruct it. */
export const mayManage = (facts: { readonly actorInboxId: string; readonly actorIsAdmin: boolean; readonly agent: AgentRecord }) =>
  facts.actorIsAdmin || facts.actorInboxId.toLowerCase() === facts.agent.spawnedBy.toLowerCase()

export type AgentMatch =
  | { readonly kind: "found"; readonly agent: AgentRecord }
  | { readonly kind: "not_found" }
  | { readonly kind: "ambiguous"; readonly candidates: ReadonlyArray<AgentRecord> }

const simplify = (text: string) =>
  text
    .toLowerCase()
    .replace(/^(?:(?:the|a|an|our|my|your|this|that)\s+)+/, "")
    .replace(/\s+(?:agent|bot)$/, "")
    .replace(/[^\p{L}\p{N}]+/gu, " ")
    .trim()

/**
 * Which agent of this conversation a user means: an exact name first ("Trip Planner" = "the trip planner"), then a
 * unique partial match ("planner"). Two candidates are ambiguous rather than a guess: removing the wrong agent is
 * worse than asking.
 */
export const resolveAgent = (ref: string, agents: ReadonlyArray<AgentRecord>): AgentMatch => {
  const wanted = simplify(ref)
  if (wanted.length === 0) return { kind: "not_found" }
  const exact = agents.filter((a) => simplify(a.agentName) === wanted)
  if (exact.length === 1) return { kind: "found", agent: exact[0]! }
  if (exact.length > 1) return { kind: "ambiguous", candidates: exact }
  const partial = agents.filter((a) => {
    const name = simplify(a.agentName)
    return ` ${name} `.includes(` ${wanted} `) || ` ${wanted} `.includes(` ${name} `)
  })
  if (partial.length === 1) return { kind: "found", agent: partial[0]! }
  if (partial.length > 1) return { kind: "ambiguous", candidates: partial }
  return { kind: "not_found" }
}

/** What a removal achieved, read from the member list afterwards: the reply states exactly this. */
export type RemovalReport = "left" | "leaving" | "shut_down" | "still_member_not_allowed" | "still_member"

export const removalReport = (facts: {
  /** The agent was placed in this group (not in a conversation of its own, spawned from a 1:1). */
  readonly inGroup: boolean
  /** The manager was refused when it removed the agent (not an admin here). */
  readonly removeRefused: boolean
  /** The agent is still in the group's member list. */
  readonly stillMember: boolean
  /** The agent asked the group's admins to remove it as it shut down: an admin's app takes it off the list. */
  readonly askedToLeave: boolean
}): RemovalReport =>
  !facts.inGroup
    ? "shut_down"
    : !facts.stillMember
      ? "left"
      : facts.askedToLeave
        ? "leaving"
        : facts.removeRefused
          ? "still_member_not_allowed"
          : "still_member"

/** A name not already used by another agent here: "Chef", then "Chef 2", … */
/**
 * Why a rename cannot go ahead: the agent already has that name, or another agent here does (two agents of one
 * name could no longer be told apart in chat). Null when the rename is fine.
 */
export const renameConflict = (
  newName: string,
  agent: AgentRecord,
  agents: ReadonlyArray<AgentRecord>,
): "unchanged" | "taken" | null => {
  if (simplify(newName) === simplify(agent.agentName)) return "unchanged"
  return agents.some((other) => other.instanceId !== agent.instanceId && simplify(other.agentName) === simplify(newName)) ? "taken" : null
}

export const uniqueName = (wanted: string, agents: ReadonlyArray<AgentRecord>): string => {
  const taken = new Set(agents.map((a) => simplify(a.agentName)))
  if (!taken.has(simplify(wanted))) return wanted
  for (let n = 2; ; n++) {
    const candidate = `${wanted} ${n}`
    if (!taken.has(simplify(candidate))) return candidate
  }
}
