/**
 * Loop limits and the reply budget, as pure functions over one conversation's recent traffic. The manager answers
 * agents too, so a loop (two bots answering each other through it, or a chatty bot that never declared itself an
 * agent and answers every "Sorry, I didn't get that") is stopped by limits here, never by ignoring a whole class of
 * sender:
 * - depth: after `agentDepth` agent messages to the manager and its replies since the last human message, agents
 *   are not answered until a person speaks again or nobody has written to the manager for `chainGapMs` (bots in a
 *   loop answer within seconds; a person on a client that declares everyone an agent, like the Convos CLI, pauses,
 *   and must not be silenced for good in a group with no other people). The first message stopped that way gets one
 *   short line saying so (`pauseNotice`), so such a person knows why and for how long. Agent messages not meant for
 *   the manager (an agent talking to another, a CLI user talking to the agents) do not count: no loop runs through
 *   the manager without its replies; nor do messages from agents the manager spawned, which it never answers;
 * - a per-conversation cap on answers to agents in a window;
 * - a reply budget per sender and per conversation, whoever the sender is;
 * - after `misunderstoodStreak` "didn't get that" replies in a row to one sender, its next unclear messages get
 *   silence (a clear request is still answered, within the budget).
 */

export interface TrafficLimits {
  readonly agentDepth: number
  readonly agentAnswersPerWindow: number
  readonly repliesPerSenderPerWindow: number
  readonly repliesPerConversationPerWindow: number
  readonly windowMs: number
  readonly misunderstoodStreak: number
  /** This long without a message ends an agent chain (the depth starts again). */
  readonly chainGapMs: number
}

export const defaultTrafficLimits: TrafficLimits = {
  agentDepth: 6,
  agentAnswersPerWindow: 5,
  repliesPerSenderPerWindow: 8,
  repliesPerConversationPerWindow: 20,
  windowMs: 60_000,
  misunderstoodStreak: 2,
  chainGapMs: 2 * 60_000,
}

interface SentReply {
  readonly at: number
  readonly to: string
  readonly toAgent: boolean
}

export interface ConversationTraffic {
  /** Agent messages to the manager and the manager's replies since the last human message. */
  readonly sinceHuman: number
  /** The agents here were told that the manager pauses its replies to them (once per chain). */
  readonly pauseTold: boolean
  /** The manager's replies still inside the window, oldest first. */
  readonly replies: ReadonlyArray<SentReply>
  /** Per sender (lower-case inbox id): "didn't get that" replies in a row. */
  readonly misunderstood: ReadonlyMap<string, number>
  /** When someone last wrote to the manager or it replied, for the quiet gap that ends a chain; null before any. */
  readonly lastAt: number | null
}

export const emptyTraffic: ConversationTraffic = { sinceHuman: 0, pauseTold: false, replies: [], misunderstood: new Map(), lastAt: null }

export type TrafficSilence = "agent-depth" | "agent-rate" | "sender-budget" | "conversation-budget" | "misunderstood-streak"

/**
 * A message was heard: a person ends the chain; an agent's message for the manager starts a fresh one after a quiet
 * gap, and keeps the chain alive. An agent's message for someone else changes nothing.
 */
export const heard = (
  state: ConversationTraffic,
  from: { readonly isAgent: boolean; readonly forManager: boolean; readonly now: number },
  limits: TrafficLimits = defaultTrafficLimits,
): ConversationTraffic => {
  if (!from.isAgent) return { ...state, sinceHuman: 0, pauseTold: false, lastAt: from.now }
  if (!from.forManager) return state
  const quiet = state.lastAt !== null && from.now - state.lastAt >= limits.chainGapMs
  return { ...state, ...(quiet ? { sinceHuman: 0, pauseTold: false } : {}), lastAt: from.now }
}

const inWindow = (state: ConversationTraffic, now: number, limits: TrafficLimits) =>
  state.replies.filter((r) => r.at > now - limits.windowMs)

/**
 * Whether the manager may reply to this message. `understood` is false when the only reply would be "didn't get
 * that". Call after `heard` for the same message.
 */
export const mayReply = (
  state: ConversationTraffic,
  facts: { readonly sender: string; readonly isAgent: boolean; readonly understood: boolean; readonly now: number },
  limits: TrafficLimits = defaultTrafficLimits,
): TrafficSilence | null => {
  const recent = inWindow(state, facts.now, limits)
  const sender = facts.sender.toLowerCase()
  if (facts.isAgent) {
    // This message counts towards the depth too.
    if (state.sinceHuman + 1 > limits.agentDepth) return "agent-depth"
    if (recent.filter((r) => r.toAgent).length >= limits.agentAnswersPerWindow) return "agent-rate"
  }
  if (!facts.understood && (state.misunderstood.get(sender) ?? 0) >= limits.misunderstoodStreak) return "misunderstood-streak"
  if (recent.filter((r) => r.to === sender).length >= limits.repliesPerSenderPerWindow) return "sender-budget"
  if (recent.length >= limits.repliesPerConversationPerWindow) return "conversation-budget"
  return null
}

/** Whether a message the depth stopped gets the one line that says the manager pauses its replies to agents here. */
export const pauseNotice = (state: ConversationTraffic, silence: TrafficSilence | null): boolean =>
  silence === "agent-depth" && !state.pauseTold

/**
 * The manager replied: its reply and the agent message it answers count towards the depth, and it counts against
 * the budgets. `pause`: the reply was the pause notice.
 */
export const replied = (
  state: ConversationTraffic,
  facts: { readonly sender: string; readonly isAgent: boolean; readonly understood: boolean; readonly now: number; readonly pause?: boolean },
  limits: TrafficLimits = defaultTrafficLimits,
): ConversationTraffic => {
  const sender = facts.sender.toLowerCase()
  const misunderstood = new Map(state.misunderstood)
  if (facts.understood) misunderstood.delete(sender)
  else misunderstood.set(sender, (misunderstood.get(sender) ?? 0) + 1)
  return {
    sinceHuman: state.sinceHuman + (facts.isAgent ? 2 : 1),
    pauseTold: state.pauseTold || facts.pause === true,
    replies: [...inWindow(state, facts.now, limits), { at: facts.now, to: sender, toAgent: facts.isAgent }],
    misunderstood,
    lastAt: facts.now,
  }
}
