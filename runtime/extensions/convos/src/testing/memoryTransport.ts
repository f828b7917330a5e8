/** An in-memory ConvosTransport for unit tests: records what the plugin sends and lets a test inject events. */
import type { ConvosTransport, JoinOutcome, TransportHandlers, TransportMessage, TransportWelcome } from "../transport.ts"

export interface SentText {
  readonly conversationId: string
  readonly text: string
  readonly replyTo?: string
  readonly messageId: string
}

export interface Reaction {
  readonly conversationId: string
  readonly messageId: string
  readonly emoji: string
  readonly action: "added" | "removed"
}

export const SELF_INBOX = "a".repeat(64)

export const memoryTransport = (options: { joinOutcome?: () => JoinOutcome } = {}) => {
  let handlers: TransportHandlers | undefined
  let counter = 0
  const sent: Array<SentText> = []
  const reactions: Array<Reaction> = []
  const profiles: Array<{ conversationId: string; name: string }> = []
  const created: Array<string> = []
  const expectations: Array<{ conversationId: string; addedBy: string; withdrawn: boolean }> = []
  const transport: ConvosTransport & {
    sent: typeof sent
    reactions: typeof reactions
    profiles: typeof profiles
    created: typeof created
    expectations: typeof expectations
    stopped: boolean
    emitMessage(message: TransportMessage): void
    emitWelcome(welcome: TransportWelcome): void
    emitEnded(conversationId: string, reason: "removed" | "exploded"): void
    emitMembersJoined(conversationId: string, inboxIds: ReadonlyArray<string>): void
    /** Conversations we left. */
    left: Array<string>
    /** Conversations where someone besides us is a member. */
    populated: Set<string>
    /** How often the instance looked for join requests. */
    joinChecks: number
    /** What the node keeps of each conversation: `replay` gives these again. */
    history: Array<TransportMessage>
    replays: Array<{ conversationId: string; sinceMs: number }>
  } = {
    inboxId: SELF_INBOX,
    installationId: "b".repeat(64),
    sent,
    reactions,
    profiles,
    created,
    expectations,
    stopped: false,
    expectAdd(conversationId, addedBy) {
      const expectation = { conversationId, addedBy, withdrawn: false }
      expectations.push(expectation)
      return () => {
        expectation.withdrawn = true
      }
    },
    async start(h) {
      handlers = h
    },
    async stop() {
      transport.stopped = true
    },
    async createConversation() {
      const conversationId = (++counter).toString(16).padStart(32, "c")
      created.push(conversationId)
      return { conversationId, inviteUrl: `https://popup.convos.org/v2?i=invite-${conversationId}` }
    },
    async joinByInvite() {
      if (options.joinOutcome) return options.joinOutcome()
      return { status: "joined", conversationId: "d".repeat(32) }
    },
    async setProfileName(conversationId, name) {
      profiles.push({ conversationId, name })
    },
    left: [] as Array<string>,
    async leave(conversationId) {
      transport.left.push(conversationId)
    },
    populated: new Set<string>(),
    joinChecks: 0,
    history: [] as Array<TransportMessage>,
    replays: [] as Array<{ conversationId: string; sinceMs: number }>,
    async replay(conversationId, sinceMs) {
      transport.replays.push({ conversationId, sinceMs })
      for (const message of transport.history) if (message.conversationId === conversationId && message.sentAt.getTime() > sinceMs) handlers?.onMessage(message)
    },
    async checkJoinRequests() {
      transport.joinChecks += 1
    },
    async hasOtherMembers(conversationId) {
      return transport.populated.has(conversationId)
    },
    emitMembersJoined(conversationId, inboxIds) {
      transport.populated.add(conversationId)
      handlers?.onMembersJoined({ conversationId, inboxIds })
    },
    async sendText(conversationId, text, opts) {
      const messageId = `sent-${++counter}`
      sent.push({ conversationId, text, messageId, ...(opts?.replyTo !== undefined ? { replyTo: opts.replyTo } : {}) })
      return { messageId }
    },
    async react(conversationId, messageId, emoji, action) {
      reactions.push({ conversationId, messageId, emoji, action })
    },
    emitMessage(message) {
      if (!handlers) throw new Error("memory transport not started")
      handlers.onMessage(message)
    },
    emitWelcome(welcome) {
      if (!handlers) throw new Error("memory transport not started")
      handlers.onWelcome(welcome)
    },
    emitEnded(conversationId, reason) {
      if (!handlers) throw new Error("memory transport not started")
      handlers.onConversationEnded({ conversationId, reason })
    },
  }
  return transport
}
