/**
 * `ConvosClient`: one XMTP client (real `@xmtp/node-sdk`) speaking the Convos protocol.
 *
 * Which groups are "ours" is kept as XMTP consent, so it survives restarts in the client's own database:
 * Allowed = a group we created, were expected into (`expectAdd`), joined by invite, or (policy `accept_all`) any
 * group we were added to; Denied = a welcome nobody told us about (policy `expected_only`) or a left group.
 * Messages of Denied conversations are never delivered.
 *
 * This file opens the client (identity, database) and is its one surface; the work lives in rooms under client/:
 * - `joins.ts`: how a group becomes ours (`decideBinding`), `expectAdd`, `joinByInvite`, the local welcome check;
 * - `joinRequests.ts`: join requests for our invites, decided by the pure `decideJoinRequest`, one at a time;
 * - `messageStreams.ts`: the welcome and message streams, and the catch-up reads behind them;
 * - `conversations.ts`: creating, inviting, members, sends, profiles, a group's state;
 * - `core.ts`: what they share (SDK client, subscribers, consent cache, delivered ids); `sdk.ts`: the SDK boundary.
 */
import { join } from "node:path"
import type { MemberKind } from "./contentTypes.ts"
import type { ConvosMessageEvent } from "./events.ts"
import { loadOrCreateIdentity } from "./identity.ts"
import type { ConvosEnv, CreatedInvite } from "./invite.ts"
import { Conversations, type Profile } from "./client/conversations.ts"
import { ClientCore, registerCore } from "./client/core.ts"
import { JoinRequests } from "./client/joinRequests.ts"
import { Joins } from "./client/joins.ts"
import { MessageStreams } from "./client/messageStreams.ts"
import { openXmtp, signerFor } from "./client/sdk.ts"
import {
  ConvosClientError,
  type ConversationEvent,
  type ConvosClientOptions,
  type CreateConversationOptions,
  type CreatedConversation,
  type ExpectAddOptions,
  type GroupInfo,
  type JoinOptions,
  type JoinRequestEvent,
  type JoinResult,
} from "./client/types.ts"

export * from "./client/types.ts"

export class ConvosClient {
  readonly inboxId: string
  readonly installationId: string
  /** Lower-case Ethereum address of the identity's wallet key. */
  readonly address: string
  readonly env: ConvosEnv

  private readonly joins: Joins
  private readonly joinRequests: JoinRequests
  private readonly streams: MessageStreams
  private readonly conversations: Conversations

  private constructor(private readonly core: ClientCore) {
    this.inboxId = core.inboxId
    this.installationId = core.xmtp.installationId
    this.address = core.identity.address
    this.env = core.options.env
    this.joins = new Joins(core)
    this.joinRequests = new JoinRequests(core)
    this.streams = new MessageStreams(core, this.joins, this.joinRequests)
    this.conversations = new Conversations(core)
    registerCore(this, core)
  }

  static async open(options: ConvosClientOptions): Promise<ConvosClient> {
    const identity = await loadOrCreateIdentity({
      stateDir: options.stateDir,
      ...(options.encryptionKey === undefined ? {} : { encryptionKey: options.encryptionKey }),
    })
    const dbPath = options.dbPath === undefined ? join(options.stateDir, `xmtp-${options.env}.db3`) : options.dbPath
    const xmtp = await openXmtp(signerFor(identity.walletKey), {
      dbEncryptionKey: identity.dbEncryptionKey,
      env: options.env,
      ...(options.apiUrl === undefined ? {} : { apiUrl: options.apiUrl }),
      dbPath,
    }).catch((error: unknown) => {
      // SQLCipher's wording; the key itself must never appear in the message.
      if (String(error).includes("PRAGMA key"))
        throw new ConvosClientError("database_unreadable", `${dbPath} does not open with this identity's database key`)
      throw error
    })
    const client = new ConvosClient(new ClientCore(xmtp, identity, options))
    try {
      await client.streams.start()
      if (options.processJoinRequests !== false) await client.joinRequests.processMissed()
    } catch (error) {
      await client.close().catch(() => undefined)
      throw error
    }
    return client
  }

  /** Every inbound message once (own messages excluded); returns an unsubscribe function. */
  onMessage(handler: (event: ConvosMessageEvent) => void | Promise<void>): () => void {
    this.core.messageHandlers.add(handler)
    return () => this.core.messageHandlers.delete(handler)
  }

  /**
   * Gives one group's messages sent after `since` (ms) to the `onMessage` handlers again, even those the live stream
   * already gave: for a handler that was not there to hear them (its process restarted) and dedupes by id. Group
   * updates are not replayed. Resolves with how many messages were given (handlers run detached, as for the stream).
   */
  replayMessages(conversationId: string, since: number): Promise<number> {
    this.core.assertOpen()
    return this.streams.replay(conversationId, since)
  }

  onConversation(handler: (event: ConversationEvent) => void | Promise<void>): () => void {
    this.core.conversationHandlers.add(handler)
    return () => this.core.conversationHandlers.delete(handler)
  }

  /** Each decided join request for our invites (after it was applied). */
  onJoinRequest(handler: (event: JoinRequestEvent) => void | Promise<void>): () => void {
    this.core.joinRequestHandlers.add(handler)
    return () => this.core.joinRequestHandlers.delete(handler)
  }

  createConversation(options: CreateConversationOptions): Promise<CreatedConversation> {
    return this.conversations.createConversation(options)
  }

  /** A fresh invite for a group under its current tag (join requests come to this client). */
  createInvite(conversationId: string, options: { expiresAt?: Date } = {}): Promise<CreatedInvite> {
    return this.conversations.createInvite(conversationId, options)
  }

  /**
   * Sends a join request to the invite's creator and waits for the welcome of the group carrying the invite's tag.
   * `pending_acceptance` when the creator has not added us within `timeoutMs` (its client may be offline).
   */
  joinByInvite(inviteUrl: string, options: JoinOptions = {}): Promise<JoinResult> {
    return this.joins.joinByInvite(inviteUrl, options)
  }

  /**
   * Resolves when the welcome for exactly this conversation arrives (at once if we are already in it); welcomes
   * of other groups do not count. Under `expected_only` this is how a group becomes ours.
   */
  expectAdd(options: ExpectAddOptions): Promise<{ conversationId: string; addedByInboxId: string }> {
    return this.joins.expectAdd(options)
  }

  addMembers(conversationId: string, inboxIds: string[]): Promise<void> {
    return this.conversations.addMembers(conversationId, inboxIds)
  }

  removeMembers(conversationId: string, inboxIds: string[]): Promise<void> {
    return this.conversations.removeMembers(conversationId, inboxIds)
  }

  /** Asks the group's admins to remove us and stops delivering its messages here. */
  leave(conversationId: string): Promise<void> {
    return this.conversations.leave(conversationId)
  }

  /** Whether a member asked this group's admins to remove it since a time (its own `leave`). */
  askedToLeave(conversationId: string, inboxId: string, since: Date): Promise<boolean> {
    return this.conversations.askedToLeave(conversationId, inboxId, since)
  }

  sendText(conversationId: string, text: string, options: { replyTo?: string } = {}): Promise<string> {
    return this.conversations.sendText(conversationId, text, options)
  }

  react(conversationId: string, messageId: string, emoji: string, action: "added" | "removed" = "added"): Promise<string> {
    return this.conversations.react(conversationId, messageId, emoji, action)
  }

  /**
   * Our display name in a group, marked as an agent for Convos apps: a profile update message, and when we may
   * write the group's appData (we are an admin), the appData profile too.
   */
  setProfile(conversationId: string, profile: Profile): Promise<void> {
    return this.conversations.setProfile(conversationId, profile)
  }

  groupInfo(conversationId: string): Promise<GroupInfo> {
    return this.conversations.groupInfo(conversationId)
  }

  /**
   * What a member declared itself in a conversation: its newest profile update there, else the newest profile
   * snapshot naming it. Undefined when it never said.
   */
  declaredMemberKind(conversationId: string, inboxId: string): Promise<MemberKind | undefined> {
    return this.conversations.declaredMemberKind(conversationId, inboxId)
  }

  /**
   * Looks for join requests the streams have not delivered (XMTP's stream can lose a new DM's first message): the
   * same read as at start. A creator waiting for its first member calls it often; the periodic sweep is slower.
   */
  async checkJoinRequests(): Promise<void> {
    this.core.assertOpen()
    await this.joinRequests.processMissed()
  }

  async close(): Promise<void> {
    if (this.core.closed) return
    this.core.closed = true
    await Promise.all([this.streams.stopSweeps(), this.joins.stopLocalCheck()])
    await this.streams.stop()
    this.joins.failWaiters()
    await this.joinRequests.drained()
    await this.core.xmtp.close()
  }
}
