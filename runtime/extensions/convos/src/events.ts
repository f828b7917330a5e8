/** Normalising inbound XMTP messages into what the agent should do with them. Pure. */
import type { TransportMessage } from "./transport.ts"

export interface InboundTurn {
  readonly messageId: string
  readonly conversationId: string
  readonly senderInboxId: string
  readonly senderName: string
  readonly senderIsAgent: boolean
  /** A reply to, or a reaction on, one of our messages. */
  readonly repliesToUs: boolean
  /** No agent but us is known in the conversation, the sender and the manager aside. */
  readonly weAreTheOnlyAgent: boolean
  /** What the agent reads. */
  readonly text: string
  /** The message to reply to (and to mark with the working reaction). */
  readonly replyTo: string
  readonly image?: { readonly filename: string; readonly mimeType: string; readonly data: Uint8Array }
  readonly timestamp: number
}

/** The heading of a turn that answers several messages at once (`backlogTurn`). */
export const BACKLOG_HEADING = "Messages sent to this conversation while you were away, oldest first:"

/**
 * One turn for what was sent while the agent was down: the newest message, with the earlier ones before it, so
 * the agent answers its backlog once instead of once per message. Its reply goes to the newest one.
 */
export const backlogTurn = (turns: ReadonlyArray<InboundTurn>): InboundTurn | undefined => {
  const newest = turns.at(-1)
  if (newest === undefined || turns.length === 1) return newest
  const line = (turn: InboundTurn) => `${turn.senderName}: ${turn.text}${turn.image ? " [an image]" : ""}`
  return { ...newest, text: [BACKLOG_HEADING, ...turns.map(line)].join("\n") }
}

export type InboundAction =
  | { readonly kind: "ignore"; readonly reason: string }
  | { readonly kind: "turn"; readonly turn: InboundTurn }
  | { readonly kind: "ended"; readonly reason: "removed" }
  /** Someone other than us joined the conversation (a created conversation greets its first joiner). */
  | { readonly kind: "members_added"; readonly inboxIds: ReadonlyArray<string> }

export interface InboundContext {
  readonly selfInboxId: string
  readonly boundConversationId: string | null
  /** Ids of messages this agent sent (for reactions to its own messages). */
  readonly ownMessageIds: ReadonlySet<string>
  /** The manager bot that spawned us, if any: its messages name us but are never meant for us. */
  readonly managerInboxId?: string | null
}

const shortInbox = (inboxId: string) => `${inboxId.slice(0, 8)}…`

export const classifyInbound = (message: TransportMessage, context: InboundContext): InboundAction => {
  if (context.boundConversationId === null) return { kind: "ignore", reason: "not bound to any conversation" }
  if (message.conversationId.toLowerCase() !== context.boundConversationId)
    return { kind: "ignore", reason: "message from a conversation we are not bound to" }
  const self = context.selfInboxId.toLowerCase()
  const sender = message.senderInboxId.toLowerCase()
  const content = message.content
  if (content.kind === "group_updated") {
    if (content.removedInboxIds.some((id) => id.toLowerCase() === self)) return { kind: "ended", reason: "removed" }
    const others = content.addedInboxIds.map((id) => id.toLowerCase()).filter((id) => id !== self)
    if (others.length > 0) return { kind: "members_added", inboxIds: others }
    return { kind: "ignore", reason: "group update" }
  }
  if (sender === self) return { kind: "ignore", reason: "own message" }
  const manager = context.managerInboxId?.toLowerCase() ?? null
  if (manager !== null && sender === manager)
    return { kind: "ignore", reason: "message from the manager that spawned us" }
  const senderName = message.senderName?.trim() || shortInbox(sender)
  const base = {
    messageId: message.id,
    conversationId: context.boundConversationId,
    senderInboxId: sender,
    senderName,
    // Agents (and the CLI, for people too) mark themselves in their Convos profile; a person who added us is a person.
    senderIsAgent: message.senderIsAgent === true,
    repliesToUs: false,
    weAreTheOnlyAgent: (message.otherAgentInboxIds ?? []).every((id) => id.toLowerCase() === manager),
    replyTo: message.id,
    timestamp: message.sentAt.getTime(),
  }
  switch (content.kind) {
    case "text":
    case "reply": {
      const text = content.text.trim()
      if (text.length === 0) return { kind: "ignore", reason: "empty text" }
      const repliesToUs = content.kind === "reply" && context.ownMessageIds.has(content.inReplyTo)
      return { kind: "turn", turn: { ...base, text, repliesToUs } }
    }
    case "reaction": {
      if (content.action !== "added") return { kind: "ignore", reason: "reaction removed" }
      if (!context.ownMessageIds.has(content.reference)) return { kind: "ignore", reason: "reaction to someone else's message" }
      return { kind: "turn", turn: { ...base, text: `${senderName} reacted ${content.emoji} to your message.`, replyTo: content.reference, repliesToUs: true } }
    }
    case "attachment": {
      if (content.mimeType.startsWith("image/") && content.data !== undefined) {
        return {
          kind: "turn",
          turn: {
            ...base,
            text: `[${senderName} sent an image: ${content.filename}]`,
            image: { filename: content.filename, mimeType: content.mimeType, data: content.data },
          },
        }
      }
      return { kind: "turn", turn: { ...base, text: `[${senderName} sent a file: ${content.filename} (${content.mimeType}); you cannot open it.]` } }
    }
    case "other":
      return { kind: "ignore", reason: `unsupported content type ${content.typeId}` }
  }
}
