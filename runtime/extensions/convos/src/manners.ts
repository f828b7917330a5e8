/**
 * Group manners between agents. A sender whose Convos profile declares `memberKind` Agent may be another agent, or a
 * person on a client that marks every profile it writes as an agent (the reference `convos` CLI does). So such a
 * sender is answered like a person whenever the message is addressed to us (by name, as a reply or reaction to one of
 * our messages, or as an unnamed question when we are the conversation's only agent), and loops between agents are
 * stopped by limits, not by silence: a depth limit on consecutive agent messages since the last person's message,
 * and a per-conversation rate limit on answers to agents. People are always heard (the model itself decides whether
 * a reply is useful). The manager that spawned us and our own messages never get here (events.ts drops them).
 */

export interface MannersPolicy {
  /** Agent messages in one chain (since the last person's message) after which agents are no longer answered. */
  readonly maxBotDepth: number
  /** At most this many answers to agents per window. */
  readonly maxBotAnswersPerWindow: number
  readonly windowMs: number
  /**
   * A chain also ends after this long without any message: agents in a loop answer each other within seconds, while
   * a person on an agent-marked client (the CLI) who pauses gets a fresh chain instead of being silenced for good.
   */
  readonly chainGapMs: number
}

export const defaultMannersPolicy: MannersPolicy = { maxBotDepth: 4, maxBotAnswersPerWindow: 8, windowMs: 10 * 60_000, chainGapMs: 2 * 60_000 }

export interface MannersState {
  /** Agent messages seen in the current chain. */
  readonly botDepth: number
  /** When we answered agents, newest last, pruned to the window. */
  readonly botAnswerTimes: ReadonlyArray<number>
  /** When the last message we considered arrived (null before any). */
  readonly lastMessageAt: number | null
}

export const initialMannersState: MannersState = { botDepth: 0, botAnswerTimes: [], lastMessageAt: null }

const escapeRegExp = (value: string) => value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/** Whether `text` addresses an agent called `name`: the name (or `@name`) as a whole word, any case. */
export const isAddressedTo = (text: string, name: string): boolean => {
  const trimmed = name.trim()
  if (trimmed.length === 0) return false
  const pattern = new RegExp(`(^|[^\\p{L}\\p{N}_])@?${escapeRegExp(trimmed)}(?=$|[^\\p{L}\\p{N}_])`, "iu")
  return pattern.test(text)
}

/** A question mark in any of the common scripts' forms. */
export const isQuestion = (text: string): boolean => /[?？¿؟]/u.test(text)

export interface MannersMessage {
  /** The sender's profile declares `memberKind` Agent. */
  readonly senderIsAgent: boolean
  readonly text: string
  /** A reply to, or a reaction on, one of our messages. */
  readonly repliesToUs: boolean
  /** No other agent (besides the sender and the manager) is known in the conversation. */
  readonly weAreTheOnlyAgent: boolean
  readonly now: number
}

export type MannersVerdict =
  | { readonly answer: true; readonly next: MannersState }
  | {
      readonly answer: false
      readonly reason: "agent_not_addressing_us" | "bot_chain_too_deep" | "bot_rate_limited"
      readonly next: MannersState
    }

/** Whether an agent-marked sender's message is meant for us (a person's message is always heard). */
export const addressesUs = (message: MannersMessage, agentName: string): boolean =>
  isAddressedTo(message.text, agentName) || message.repliesToUs || (message.weAreTheOnlyAgent && isQuestion(message.text))

export const decideManners = (
  state: MannersState,
  message: MannersMessage,
  agentName: string,
  policy: MannersPolicy = defaultMannersPolicy,
): MannersVerdict => {
  if (!message.senderIsAgent) return { answer: true, next: { ...state, botDepth: 0, lastMessageAt: message.now } }
  const recent = state.botAnswerTimes.filter((at) => message.now - at < policy.windowMs)
  const chainEnded = state.lastMessageAt !== null && message.now - state.lastMessageAt >= policy.chainGapMs
  const deeper: MannersState = { botDepth: (chainEnded ? 0 : state.botDepth) + 1, botAnswerTimes: recent, lastMessageAt: message.now }
  if (!addressesUs(message, agentName)) return { answer: false, reason: "agent_not_addressing_us", next: deeper }
  if (deeper.botDepth > policy.maxBotDepth) return { answer: false, reason: "bot_chain_too_deep", next: deeper }
  if (recent.length >= policy.maxBotAnswersPerWindow) return { answer: false, reason: "bot_rate_limited", next: deeper }
  return { answer: true, next: { ...deeper, botAnswerTimes: [...recent, message.now] } }
}
