/**
 * The two supervised streams that run for the client's lifetime, and what catches up behind them: the welcome
 * stream (new conversations) and the message stream (everything, deduped by message id); after a restart of the
 * message stream, and every `catchUpEveryMs`, the messages it may have missed are read through the same dedupe.
 */
import type { ContentTypeId } from "../contentTypes.ts"
import { normaliseMessage, RecentIds, type GroupUpdate } from "../events.ts"
import { joinRequestFromMessage } from "../joinRequest.ts"
import { superviseStream, type SupervisedStream } from "../streams.ts"
import { sameId, type ClientCore } from "./core.ts"
import type { JoinRequests } from "./joinRequests.ts"
import type { Joins } from "./joins.ts"
import { Consent, Dm, Group, listGroups, nsOf, type XmtpConversation, type XmtpMessage } from "./sdk.ts"
import type { ConversationEvent } from "./types.ts"

const CATCH_UP_MARGIN_NS = 5_000_000_000n
const DEFAULT_CATCH_UP_EVERY_MS = 15_000

const nowNs = () => nsOf(Date.now())

/** What a group update means for us: removed from the group, members changed, or nothing worth an event. */
export const membershipEventOf = (conversationId: string, update: GroupUpdate, selfInboxId: string): ConversationEvent | undefined => {
  const removedUs = [...update.removedInboxIds, ...update.leftInboxIds].some((id) => sameId(id, selfInboxId))
  if (removedUs) return { type: "removed", conversationId, byInboxId: update.initiatedByInboxId }
  if (update.addedInboxIds.length + update.removedInboxIds.length + update.leftInboxIds.length === 0) return undefined
  return {
    type: "members_changed",
    conversationId,
    addedInboxIds: update.addedInboxIds,
    removedInboxIds: [...update.removedInboxIds, ...update.leftInboxIds],
    byInboxId: update.initiatedByInboxId,
  }
}

export class MessageStreams {
  private readonly seenConversations = new RecentIds()
  private streams: SupervisedStream[] = []
  private sweepTimer: ReturnType<typeof setInterval> | undefined
  private sweepRunning = false
  private sweeping: Promise<void> = Promise.resolve()
  /** Start of the previous sweep: the next one reads everything sent since (minus the skew margin). */
  private sweptUntilNs = 0n
  /** Newest message seen, or the time the message stream first opened: where a catch-up starts. */
  private messagesSeenUntilNs = 0n

  constructor(
    private readonly core: ClientCore,
    private readonly joins: Joins,
    private readonly joinRequests: JoinRequests,
  ) {}

  async start(): Promise<void> {
    const core = this.core
    const onError = (error: unknown, context: string) => core.reportError(error, context)
    const backoff = core.options.streamBackoff ? { backoff: core.options.streamBackoff } : {}
    const welcomes = superviseStream<XmtpConversation>({
      name: "conversations",
      open: () => core.xmtp.conversations.stream({ retryOnFail: false }),
      onItem: (conversation) => this.onNewConversation(conversation),
      onError,
      // Welcomes that landed while the stream was down are in the local DB after a sync.
      onRestart: async () => {
        await core.xmtp.conversations.sync()
        for (const group of listGroups(core.xmtp)) await this.onNewConversation(group)
      },
      ...backoff,
    })
    const messages = superviseStream<XmtpMessage>({
      name: "messages",
      open: () => core.xmtp.conversations.streamAllMessages({ retryOnFail: false }),
      onItem: (message) => this.onStreamedMessage(message),
      onError,
      onRestart: () => this.catchUpMessages(),
      ...backoff,
    })
    this.streams = [welcomes, messages]
    this.messagesSeenUntilNs = nowNs()
    this.sweptUntilNs = this.messagesSeenUntilNs
    await Promise.all([welcomes.ready, messages.ready])
    this.joins.scheduleLocalCheck()
    const every = core.options.catchUpEveryMs ?? DEFAULT_CATCH_UP_EVERY_MS
    if (every > 0) {
      this.sweepTimer = setInterval(() => {
        if (core.closed || this.sweepRunning) return
        this.sweepRunning = true
        this.sweeping = this.sweepMissedMessages()
          .catch((error: unknown) => core.reportError(error, "catch-up sweep"))
          .finally(() => {
            this.sweepRunning = false
          })
      }, every)
      this.sweepTimer.unref()
    }
  }

  /** Closing: no more sweeps; resolves when the one running (if any) is done. */
  stopSweeps(): Promise<void> {
    clearInterval(this.sweepTimer)
    return this.sweeping
  }

  async stop(): Promise<void> {
    await Promise.all(this.streams.map((s) => s.stop()))
  }

  /** Messages the live stream skipped since the previous sweep (a later message does not hide an earlier gap). */
  private async sweepMissedMessages(): Promise<void> {
    const startedNs = nowNs()
    await this.readMessagesSince(this.sweptUntilNs - CATCH_UP_MARGIN_NS)
    this.sweptUntilNs = startedNs
  }

  /**
   * After a message-stream restart: messages sent while it was down (a re-opened stream starts after its initial
   * sync, so it never yields them), through the same dedupe. The margin absorbs clock skew between senders.
   */
  private async catchUpMessages(): Promise<void> {
    await this.readMessagesSince(this.messagesSeenUntilNs - CATCH_UP_MARGIN_NS)
  }

  private async readMessagesSince(sinceNs: bigint): Promise<void> {
    const core = this.core
    await core.xmtp.conversations.syncAll()
    for (const conversation of await core.xmtp.conversations.list()) {
      if (core.closed) return
      // The sync may have taken in a welcome before the conversation stream saw it: treat it as the stream would.
      await this.onNewConversation(conversation)
      if (core.consentOf(conversation) === Consent.Denied) continue
      for (const message of await conversation.messages({ sentAfterNs: sinceNs })) await this.onStreamedMessage(message)
    }
  }

  private async onNewConversation(conversation: XmtpConversation): Promise<void> {
    if (conversation instanceof Group) {
      await this.joins.bindGroup(conversation)
      return
    }
    if (!this.seenConversations.firstSeen(conversation.id)) return
    if (this.core.consentOf(conversation) !== Consent.Denied)
      this.core.emitConversation({ type: "dm", conversationId: conversation.id, peerInboxId: conversation.peerInboxId })
  }

  /**
   * One group's messages sent after `sinceMs` (its own excluded), given to the message handlers again even when the
   * live stream already gave them, for a consumer that was not listening then (it dedupes by id itself). Group
   * updates are left out: their membership events are not replayed. Returns how many were given.
   */
  async replay(conversationId: string, sinceMs: number): Promise<number> {
    const core = this.core
    const conversation = await core.xmtp.conversations.getConversationById(conversationId)
    if (!(conversation instanceof Group) || core.consentOf(conversation) !== Consent.Allowed) return 0
    await conversation.sync()
    let given = 0
    for (const message of await conversation.messages({ sentAfterNs: nsOf(sinceMs) })) {
      if (core.closed) break
      if (core.isSelf(message.senderInboxId)) continue
      const event = eventOf(message, false)
      if (event.kind === "group_updated") continue
      core.seenMessages.firstSeen(message.id)
      core.emit(core.messageHandlers, event, "onMessage handler")
      given++
    }
    return given
  }

  private async onStreamedMessage(message: XmtpMessage): Promise<void> {
    const core = this.core
    if (!message || !core.seenMessages.firstSeen(message.id)) return
    if (message.sentAtNs > this.messagesSeenUntilNs) this.messagesSeenUntilNs = message.sentAtNs
    if (core.isSelf(message.senderInboxId)) return
    const conversation = await core.xmtp.conversations.getConversationById(message.conversationId)
    if (!conversation) return
    if (conversation instanceof Group) {
      if (core.consentOf(conversation) !== Consent.Allowed && !(await this.joins.bindGroup(conversation))) return
    } else if (core.consentOf(conversation) === Consent.Denied) return

    const isDm = conversation instanceof Dm
    const event = eventOf(message, isDm)
    if (conversation instanceof Dm && core.options.processJoinRequests !== false) {
      const request = joinRequestFromMessage({ senderInboxId: message.senderInboxId, contentType: message.contentType, content: message.content })
      if (request && event.kind === "join_request") this.joinRequests.enqueue(request, conversation)
    }
    if (event.kind === "group_updated" && event.groupUpdate) {
      const membership = membershipEventOf(event.conversationId, event.groupUpdate, core.inboxId)
      if (membership) core.emitConversation(membership)
    }
    core.emit(core.messageHandlers, event, "onMessage handler")
  }
}

const eventOf = (message: XmtpMessage, isDm: boolean) =>
  normaliseMessage(
    {
      id: message.id,
      conversationId: message.conversationId,
      senderInboxId: message.senderInboxId,
      sentAt: message.sentAt,
      contentType: message.contentType as ContentTypeId | undefined,
      content: message.content,
      fallback: message.fallback,
    },
    isDm,
  )
