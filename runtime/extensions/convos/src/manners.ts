/**
 * Group manners between agents: several agents and the manager can share a conversation, so an agent answers another
 * agent only when addressed by name, and only while the bot-to-bot chain is short and the rate is low. Humans are
 * always heard (the model itself decides whether a reply is useful).
 */

export interface MannersPolicy {
  /** Consecutive agent messages (since the last human one) after which agents are no longer answered. */
  readonly maxBotDepth: number
  /** At most this many answers to agents per window. */
  readonly maxBotAnswersPerWindow: number
  readonly windowMs: number
}

export const defaultMannersPolicy: MannersPolicy = { maxBotDepth: 3, maxBotAnswersPerWindow: 5, windowMs: 10 * 60_000 }

export interface MannersState {
  /** Agent messages seen since the last human message. */
  readonly botDepth: number
  /** When we answered agents, newest last, pruned to the window. */
  readonly botAnswerTimes: ReadonlyArray<number>
}

export const initialMannersState: MannersState = { botDepth: 0, botAnswerTimes: [] }

const escapeRegExp = (value: string) => value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/** Whether `text` addresses an agent called `name`: the name (or `@name`) as a whole word, any case. */
export const isAddressedTo = (text: string, name: string): boolean => {
  const trimmed = name.trim()
  if (trimmed.length === 0) return false
  const pattern = new RegExp(`(^|[^\\p{L}\\p{N}_])@?${escapeRegExp(trimmed)}(?=$|[^\\p{L}\\p{N}_])`, "iu")
  return pattern.test(text)
}

export type MannersVerdict =
  | { readonly answer: true; readonly next: MannersState }
  | {
      readonly answer: false
      readonly reason: "agent_not_addressing_us" | "bot_chain_too_deep" | "bot_rate_limited"
      readonly next: MannersState
    }

export const decideManners = (
  state: MannersState,
  message: { readonly senderIsAgent: boolean; readonly text: string; readonly now: number },
  agentName: string,
  policy: MannersPolicy = defaultMannersPolicy,
): MannersVerdict => {
  if (!message.senderIsAgent) return { answer: true, next: { ...state, botDepth: 0 } }
  const recent = state.botAnswerTimes.filter((at) => message.now - at < policy.windowMs)
  const deeper: MannersState = { botDepth: state.botDepth + 1, botAnswerTimes: recent }
  if (!isAddressedTo(message.text, agentName)) return { answer: false, reason: "agent_not_addressing_us", next: deeper }
  if (deeper.botDepth > policy.maxBotDepth) return { answer: false, reason: "bot_chain_too_deep", next: deeper }
  if (recent.length >= policy.maxBotAnswersPerWindow) return { answer: false, reason: "bot_rate_limited", next: deeper }
  return { answer: true, next: { ...deeper, botAnswerTimes: [...recent, message.now] } }
}
