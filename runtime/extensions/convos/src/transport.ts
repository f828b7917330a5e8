/**
 * The narrow XMTP/Convos surface the plugin needs. Production implements it over `convos/` (transportConvos.ts);
 * unit tests use an in-memory one. Keeping it narrow keeps every decision in the plugin testable without a network.
 */

export type TransportContent =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "reply"; readonly text: string; readonly inReplyTo: string }
  | { readonly kind: "reaction"; readonly emoji: string; readonly action: "added" | "removed"; readonly reference: string }
  | {
      readonly kind: "attachment"
      readonly filename: string
      readonly mimeType: string
      /** Decrypted bytes when the transport already has them. */
      readonly data?: Uint8Array
    }
  | {
      readonly kind: "group_updated"
      readonly addedInboxIds: ReadonlyArray<string>
      readonly removedInboxIds: ReadonlyArray<string>
    }
  | { readonly kind: "other"; readonly typeId: string; readonly fallback?: string }

export interface TransportMessage {
  readonly id: string
  readonly conversationId: string
  readonly senderInboxId: string
  /** The sender's Convos profile name in this conversation, when known. */
  readonly senderName?: string
  /** True when the sender's Convos profile declares `memberKind` Agent (another agent, or a person on the CLI). */
  readonly senderIsAgent?: boolean
  /** Members besides the sender and us whose profiles declare `memberKind` Agent, as far as known. */
  readonly otherAgentInboxIds?: ReadonlyArray<string>
  readonly sentAt: Date
  readonly content: TransportContent
}

/** We were added to a conversation (an XMTP welcome). `addedBy` is the inbox that added us, when known. */
export interface TransportWelcome {
  readonly conversationId: string
  readonly addedBy: string | null
}

export interface TransportHandlers {
  onMessage(message: TransportMessage): void
  onWelcome(welcome: TransportWelcome): void
  /** The conversation ended for us: we were removed, or it was exploded. */
  onConversationEnded(event: { readonly conversationId: string; readonly reason: "removed" | "exploded" }): void
  /**
   * People joined a conversation we created through one of our invites (we accepted their join requests). Our own
   * membership commits never come back as messages, so this is how the creator learns its first member arrived.
   */
  onMembersJoined(event: { readonly conversationId: string; readonly inboxIds: ReadonlyArray<string> }): void
}

export type JoinOutcome =
  | { readonly status: "joined"; readonly conversationId: string }
  /** The creator has not accepted yet; `accepted` settles with the conversation id once we are in. */
  | { readonly status: "pending"; readonly accepted: Promise<string> }

export interface ConvosTransport {
  readonly inboxId: string
  readonly installationId: string
  /** Starts delivering events; resolves once streaming. */
  start(handlers: TransportHandlers): Promise<void>
  stop(): Promise<void>
  createConversation(input: { readonly name: string; readonly profileName: string }): Promise<{
    readonly conversationId: string
    readonly inviteUrl: string
  }>
  /**
   * Accept the welcome to exactly `conversationId` from `addedBy` (every other add is ignored); the welcome then
   * arrives through `onWelcome`. Returns a function that withdraws the expectation.
   */
  expectAdd(conversationId: string, addedBy: string): () => void
  joinByInvite(inviteUrl: string, input: { readonly profileName: string; readonly waitMs: number }): Promise<JoinOutcome>
  setProfileName(conversationId: string, name: string): Promise<void>
  /** Leaves a conversation (the agent's slot is being deleted). */
  leave(conversationId: string): Promise<void>
  /** Reads join requests for our invites that the live stream may have lost; accepted ones come to `onMembersJoined`. */
  checkJoinRequests(): Promise<void>
  /**
   * Gives `onMessage` the conversation's messages sent after `sinceMs` again, also those already given (the instance
   * skips what it handled, by id): after a restart, what was sent while we were down.
   */
  replay(conversationId: string, sinceMs: number): Promise<void>
  /** Whether anyone but us is a member (a restart cannot know whether a join was accepted while it was down). */
  hasOtherMembers(conversationId: string): Promise<boolean>
  sendText(conversationId: string, text: string, options?: { readonly replyTo?: string }): Promise<{ readonly messageId: string }>
  react(conversationId: string, messageId: string, emoji: string, action: "added" | "removed"): Promise<void>
}
