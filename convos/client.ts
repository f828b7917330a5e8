/**
 * `ConvosClient`: one XMTP client (real `@xmtp/node-sdk`) speaking the Convos protocol.
 *
 * Which groups are "ours" is kept as XMTP consent, so it survives restarts in the client's own database:
 * Allowed = a group we created, were expected into (`expectAdd`), joined by invite, or (policy `accept_all`) any
 * group we were added to; Denied = a welcome nobody told us about (policy `expected_only`) or a left group.
 * Messages of Denied conversations are never delivered.
 *
 * Two supervised streams run for the client's lifetime: the welcome stream (new conversations) and the message
 * stream (everything, deduped by message id). Join requests that arrive by DM are decided by the pure
 * `decideJoinRequest` and applied one at a time.
 */
import { Client, Dm, Group, encodeText, type DecodedMessage, type Signer } from "@xmtp/node-sdk"
import { join } from "node:path"
import type { Hex } from "viem"
import { toBytes } from "viem"
import { privateKeyToAccount } from "viem/accounts"
import {
  convosCodecs,
  JoinRequestCodec,
  MemberKind,
  ProfileUpdateCodec,
  type ContentTypeId,
  type ProfileMetadataValue,
} from "./contentTypes.ts"
import { normaliseMessage, RecentIds, type ConvosMessageEvent } from "./events.ts"
import { loadOrCreateIdentity, type ConvosIdentity } from "./identity.ts"
import {
  createInvite,
  inviteToSlug,
  isInviteExpired,
  isWellFormedInviteSignature,
  parseInvite,
  recoverInviteSigner,
  type ConvosEnv,
  type CreatedInvite,
  type ParsedInvite,
} from "./invite.ts"
import {
  decideJoinRequest,
  gatherJoinRequestEvidence,
  joinRequestFromMessage,
  type GroupSnapshot,
  type JoinRequestMessage,
  type JoinVerdict,
} from "./joinRequest.ts"
import { decodeAppData, encodeAppData, newInviteTag, readAppData, rotateInviteTag, upsertProfile, type ConversationProfile } from "./metadata.ts"
import { superviseStream, type BackoffPolicy, type SupervisedStream } from "./streams.ts"

// XMTP enums are ambient const enums (empty objects at run time): their numeric values, named here.
const Consent = { Unknown: 0, Allowed: 1, Denied: 2 } as const
const GroupPermissions = { AllMembers: 0, AdminOnly: 1 } as const
const PermissionUpdate = { AddMember: 0 } as const
const Policy = { Allow: 0, Deny: 1 } as const
const PermissionLevel = { Member: 0, Admin: 1, SuperAdmin: 2 } as const
const ReactionAction = { Added: 1, Removed: 2 } as const
const ReactionSchema = { Unicode: 1 } as const

const LOCAL_CHECK_MS = 100
const UNDECIDED_CHECK_MS = 1_000
const WELCOME_SYNC_EVERY_MS = 5_000
const CATCH_UP_MARGIN_NS = 5_000_000_000n
const DEFAULT_CATCH_UP_EVERY_MS = 15_000

type XmtpClient = Client<unknown>
type XmtpGroup = Group<unknown>
type XmtpConversation = Group<unknown> | Dm<unknown>

export type ConvosClientErrorReason =
  | "closed"
  | "conversation_not_found"
  | "not_a_group"
  | "timeout"
  | "aborted"
  | "invalid_invite"
  | "invite_expired"
  | "own_invite"
  | "database_unreadable"

export class ConvosClientError extends Error {
  readonly _tag = "ConvosClientError"
  constructor(
    readonly reason: ConvosClientErrorReason,
    message: string,
  ) {
    super(message)
    this.name = "ConvosClientError"
  }
}

export type WelcomePolicy = "expected_only" | "accept_all"

export interface ConvosClientOptions {
  /** Holds identity.json and (unless `dbPath` is given) the XMTP database. */
  stateDir: string
  env: ConvosEnv
  /** Overrides the XMTP API host (tests: the fake node's `http://127.0.0.1:<port>`). */
  apiUrl?: string
  /** At-rest key for identity.json; defaults to env CONVOS_KEY_ENCRYPTION_KEY. */
  encryptionKey?: string
  /** XMTP database path; default `<stateDir>/xmtp-<env>.db3`; `null` = in memory (a new installation every open). */
  dbPath?: string | null
  /**
   * `expected_only` (default): a group we are added to is bound only if `expectAdd` named it; others are ignored
   * and their messages never delivered. `accept_all`: every group we are added to is ours (a bot users add).
   */
  welcomePolicy?: WelcomePolicy
  /** Decide and apply join requests for our invites (default true). */
  processJoinRequests?: boolean
  /** Where background failures go (stream restarts, handler errors). Default: console.error without payloads. */
  onError?: (error: unknown, context: string) => void
  streamBackoff?: BackoffPolicy
  /**
   * Every this many ms, read what the message stream may have missed (XMTP's stream can drop a message under load,
   * libxmtp#2351): messages since the previous sweep, through the same dedupe. Default 15 s; 0 turns it off.
   */
  catchUpEveryMs?: number
  /**
   * Front doors: conversations whose invite is published for anyone. A join request accepted for one of them does
   * not add the joiner there (strangers would share one group): the client creates a new group of the joiner's
   * own, carrying the door's invite tag (what the joiner's client checks), and emits a `front_door` event.
   */
  frontDoor?: FrontDoorOptions
}

export interface FrontDoorOptions {
  isDoor(conversationId: string): boolean
  /** Our profile in each private conversation; also its name. */
  profile: { name: string; isAgent: boolean }
  description?: string
}

export type ConversationEvent =
  | { type: "joined"; conversationId: string; via: "created" | "added" | "invite"; addedByInboxId?: string }
  | { type: "ignored"; conversationId: string; addedByInboxId: string }
  | { type: "removed"; conversationId: string; byInboxId?: string }
  | { type: "members_changed"; conversationId: string; addedInboxIds: string[]; removedInboxIds: string[]; byInboxId: string }
  | { type: "dm"; conversationId: string; peerInboxId: string }
  /** A joiner of a front door got a conversation of its own (`frontDoor` option). */
  | { type: "front_door"; conversationId: string; doorConversationId: string; joinerInboxId: string }

export interface JoinRequestEvent {
  senderInboxId: string
  dmConversationId: string
  verdict: JoinVerdict
}

export type Permissions = "all_members" | "admin_only"

export interface CreateConversationOptions {
  name: string
  description?: string
  imageUrl?: string
  permissions: Permissions
  /** Inbox ids to add at creation. */
  memberInboxIds?: string[]
  /** Our display profile in the group (written to appData and sent as a profile update). */
  profile?: { name: string; isAgent: boolean }
  inviteExpiresAt?: Date
}

export interface CreatedConversation {
  conversationId: string
  inviteUrl: string
  inviteSlug: string
}

export type JoinResult =
  | { status: "joined"; conversationId: string }
  | {
      status: "pending_acceptance"
      inviteTag: string
      creatorInboxId: string
      /** Keeps waiting for the creator to accept; the `onConversation` "joined" event fires as well. */
      waitForJoin(options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<{ conversationId: string }>
    }

export interface JoinOptions {
  timeoutMs?: number
  signal?: AbortSignal
  profile?: { name: string; isAgent: boolean }
  /** Send `profile` as a profile update once joined (default true); false when the caller does it on every join. */
  profileUpdate?: boolean
  /** Also send the slug as plain text, for Convos apps that predate the join_request type (default true). */
  sendPlainTextSlug?: boolean
}

export interface ExpectAddOptions {
  conversationId: string
  /** Only bind if this inbox added us. */
  addedBy?: string
  timeoutMs?: number
  signal?: AbortSignal
}

export interface GroupMemberInfo {
  inboxId: string
  role: "member" | "admin" | "super_admin"
}

export interface GroupInfo {
  conversationId: string
  name: string
  description: string
  imageUrl: string
  members: GroupMemberInfo[]
  adminInboxIds: string[]
  superAdminInboxIds: string[]
  membersMayAddMembers: boolean
  /** Adding members is denied to everyone (Convos "lock"). */
  locked: boolean
  inviteTag: string
  profiles: ConversationProfile[]
  isActive: boolean
}

interface Waiter<T> {
  resolve(value: T): void
  reject(error: Error): void
}

/** A promise settled from outside, with timeout and abort; `settle` is idempotent. */
function deferred<T>(options: { timeoutMs?: number; signal?: AbortSignal; what: string }, cleanup: () => void) {
  let waiter!: Waiter<T>
  let settled = false
  const promise = new Promise<T>((resolve, reject) => (waiter = { resolve, reject }))
  const finish = () => {
    settled = true
    if (timer) clearTimeout(timer)
    options.signal?.removeEventListener("abort", onAbort)
    cleanup()
  }
  const onAbort = () => fail(new ConvosClientError("aborted", `${options.what}: aborted`))
  const timer =
    options.timeoutMs === undefined
      ? undefined
      : setTimeout(() => fail(new ConvosClientError("timeout", `${options.what}: no welcome within ${options.timeoutMs} ms`)), options.timeoutMs)
  function fail(error: Error) {
    if (settled) return
    finish()
    waiter.reject(error)
  }
  function succeed(value: T) {
    if (settled) return
    finish()
    waiter.resolve(value)
  }
  if (options.signal?.aborted) onAbort()
  else options.signal?.addEventListener("abort", onAbort, { once: true })
  return { promise, succeed, fail, isSettled: () => settled }
}

type Deferred<T> = ReturnType<typeof deferred<T>>

interface AddExpectation {
  addedBy?: string
  pending: Deferred<{ conversationId: string; addedByInboxId: string }>
}

interface PendingJoin {
  tag: string
  creatorInboxId: string
  waiters: Set<Deferred<{ conversationId: string }>>
  joined?: string
}

function signerFor(walletKey: Hex): Signer {
  const account = privateKeyToAccount(walletKey)
  return {
    type: "EOA",
    getIdentifier: () => ({ identifier: account.address.toLowerCase(), identifierKind: 0 }),
    signMessage: async (message: string) => toBytes(await account.signMessage({ message })),
  }
}

const sameId = (a: string, b: string) => a.toLowerCase() === b.toLowerCase()

export class ConvosClient {
  readonly inboxId: string
  readonly installationId: string
  /** Lower-case Ethereum address of the identity's wallet key. */
  readonly address: string
  readonly env: ConvosEnv

  private readonly messageHandlers = new Set<(event: ConvosMessageEvent) => void | Promise<void>>()
  private readonly conversationHandlers = new Set<(event: ConversationEvent) => void | Promise<void>>()
  private readonly joinRequestHandlers = new Set<(event: JoinRequestEvent) => void | Promise<void>>()
  private readonly seenMessages = new RecentIds()
  private readonly seenConversations = new RecentIds()
  private readonly consent = new Map<string, number>()
  private readonly expectations = new Map<string, Set<AddExpectation>>()
  private readonly pendingJoins = new Map<string, PendingJoin>()
  private joinRequestQueue: Promise<void> = Promise.resolve()
  private streams: SupervisedStream[] = []
  private closed = false
  private localCheckTimer: NodeJS.Timeout | undefined

  private constructor(
    private readonly xmtp: XmtpClient,
    private readonly identity: ConvosIdentity,
    private readonly options: ConvosClientOptions,
  ) {
    this.inboxId = xmtp.inboxId
    this.installationId = xmtp.installationId
    this.address = identity.address
    this.env = options.env
  }

  static async open(options: ConvosClientOptions): Promise<ConvosClient> {
    const identity = await loadOrCreateIdentity({
      stateDir: options.stateDir,
      ...(options.encryptionKey === undefined ? {} : { encryptionKey: options.encryptionKey }),
    })
    const dbPath = options.dbPath === undefined ? join(options.stateDir, `xmtp-${options.env}.db3`) : options.dbPath
    const xmtp = (await Client.create(signerFor(identity.walletKey), {
      env: options.env,
      ...(options.apiUrl === undefined ? {} : { apiUrl: options.apiUrl }),
      dbPath,
      dbEncryptionKey: identity.dbEncryptionKey,
      disableDeviceSync: true,
      appVersion: "convos-agents/0.1",
      codecs: convosCodecs() as never,
    }).catch((error: unknown) => {
      // SQLCipher's wording; the key itself must never appear in the message.
      if (String(error).includes("PRAGMA key"))
        throw new ConvosClientError("database_unreadable", `${dbPath} does not open with this identity's database key`)
      throw error
    })) as unknown as XmtpClient
    const client = new ConvosClient(xmtp, identity, options)
    try {
      await client.startStreams()
      if (options.processJoinRequests !== false) await client.processMissedJoinRequests()
    } catch (error) {
      await client.close().catch(() => undefined)
      throw error
    }
    return client
  }

  // ---------- subscriptions ----------

  /** Every inbound message once (own messages excluded); returns an unsubscribe function. */
  onMessage(handler: (event: ConvosMessageEvent) => void | Promise<void>): () => void {
    this.messageHandlers.add(handler)
    return () => this.messageHandlers.delete(handler)
  }

  onConversation(handler: (event: ConversationEvent) => void | Promise<void>): () => void {
    this.conversationHandlers.add(handler)
    return () => this.conversationHandlers.delete(handler)
  }

  /** Each decided join request for our invites (after it was applied). */
  onJoinRequest(handler: (event: JoinRequestEvent) => void | Promise<void>): () => void {
    this.joinRequestHandlers.add(handler)
    return () => this.joinRequestHandlers.delete(handler)
  }

  // ---------- conversations ----------

  async createConversation(options: CreateConversationOptions): Promise<CreatedConversation> {
    this.assertOpen()
    const tag = newInviteTag()
    const profiles = options.profile ? [{ inboxId: this.inboxId, name: options.profile.name }] : []
    const group = await this.xmtp.conversations.createGroup(options.memberInboxIds ?? [], {
      groupName: options.name,
      ...(options.description === undefined ? {} : { groupDescription: options.description }),
      ...(options.imageUrl === undefined ? {} : { groupImageUrlSquare: options.imageUrl }),
      permissions: options.permissions === "admin_only" ? GroupPermissions.AdminOnly : GroupPermissions.AllMembers,
      // Tag and our profile go in at creation: one commit fewer than writing appData afterwards.
      appData: encodeAppData({ tag, profiles }),
    } as never)
    // The local welcome check may have bound it while createGroup was running; it announced it then.
    const announced = this.consent.get(group.id) === Consent.Allowed
    this.setConsent(group, Consent.Allowed)
    if (!announced) this.emitConversation({ type: "joined", conversationId: group.id, via: "created" })
    if (options.profile) await this.sendProfileUpdate(group, options.profile)
    const invite = await this.inviteFor(group, tag, {
      name: options.name,
      ...(options.description === undefined ? {} : { description: options.description }),
      ...(options.imageUrl === undefined ? {} : { imageUrl: options.imageUrl }),
      ...(options.inviteExpiresAt === undefined ? {} : { expiresAt: options.inviteExpiresAt }),
    })
    return { conversationId: group.id, inviteUrl: invite.url, inviteSlug: invite.slug }
  }

  /** A fresh invite for a group under its current tag (join requests come to this client). */
  async createInvite(conversationId: string, options: { expiresAt?: Date } = {}): Promise<CreatedInvite> {
    const group = await this.requireGroup(conversationId)
    const tag = readAppData(group.appData).tag
    if (!tag) throw new ConvosClientError("not_a_group", `conversation ${conversationId} has no Convos invite tag`)
    return this.inviteFor(group, tag, {
      ...(group.name ? { name: group.name } : {}),
      ...(group.description ? { description: group.description } : {}),
      ...(options.expiresAt === undefined ? {} : { expiresAt: options.expiresAt }),
    })
  }

  private inviteFor(group: XmtpGroup, tag: string, details: { name?: string; description?: string; imageUrl?: string; expiresAt?: Date }) {
    return createInvite(
      { conversationId: group.id, creatorInboxId: this.inboxId, walletKey: this.identity.walletKey, tag, ...details },
      this.env,
    )
  }

  /**
   * Sends a join request to the invite's creator and waits for the welcome of the group carrying the invite's tag.
   * `pending_acceptance` when the creator has not added us within `timeoutMs` (its client may be offline).
   */
  async joinByInvite(inviteUrl: string, options: JoinOptions = {}): Promise<JoinResult> {
    this.assertOpen()
    let invite: ParsedInvite
    try {
      invite = parseInvite(inviteUrl)
    } catch (error) {
      throw new ConvosClientError("invalid_invite", (error as Error).message)
    }
    if (!isWellFormedInviteSignature(invite.signature)) throw new ConvosClientError("invalid_invite", "the invite signature is malformed")
    if (isInviteExpired(invite, new Date())) throw new ConvosClientError("invite_expired", "the invite has expired")
    if (sameId(invite.creatorInboxId, this.inboxId)) throw new ConvosClientError("own_invite", "this client created the invite")

    const pending = this.pendingJoinFor(invite)
    const already = this.xmtp.conversations.listGroups().find((g) => readAppData(g.appData).tag === invite.tag)
    if (already) await this.bindGroup(already)
    const wait = this.waitForPendingJoin(pending, options)
    // Mark handled now: if sending fails below, the waiter is failed and nobody awaits it.
    wait.catch(() => undefined)
    const abandon = (error: ConvosClientError | unknown): never => {
      for (const waiter of [...pending.waiters]) waiter.fail(error instanceof Error ? error : new Error(String(error)))
      if (!pending.joined && pending.waiters.size === 0) this.pendingJoins.delete(pending.tag)
      throw error
    }
    if (!already) {
      // Signature recovery is pure CPU (~10 ms here): let it overlap the network round trips of opening the DM.
      const existingDm = this.xmtp.conversations.getDmByInboxId(invite.creatorInboxId)
      const dmPromise = existingDm ? Promise.resolve(existingDm) : this.xmtp.conversations.createDm(invite.creatorInboxId)
      dmPromise.catch(() => undefined)
      if ((await recoverInviteSigner(invite)) === undefined)
        abandon(new ConvosClientError("invalid_invite", "the invite signature is not valid"))
      try {
        const dm = await dmPromise
        this.setConsent(dm, Consent.Allowed)
        const slug = inviteToSlug(invite)
        const profile = options.profile ? { name: options.profile.name, ...(options.profile.isAgent ? { memberKind: "agent" } : {}) } : undefined
        await dm.send(new JoinRequestCodec().encode({ inviteSlug: slug, ...(profile ? { profile } : {}) }) as never)
        if (options.sendPlainTextSlug ?? true) await dm.sendText(slug)
      } catch (error) {
        abandon(error)
      }
    }
    try {
      const { conversationId } = await wait
      if (options.profile && options.profileUpdate !== false) await this.sendProfileUpdate(await this.requireGroup(conversationId), options.profile)
      return { status: "joined", conversationId }
    } catch (error) {
      if (!(error instanceof ConvosClientError) || error.reason !== "timeout") throw error
      return {
        status: "pending_acceptance",
        inviteTag: invite.tag,
        creatorInboxId: invite.creatorInboxId,
        waitForJoin: (waitOptions = {}) => this.waitForPendingJoin(pending, waitOptions),
      }
    }
  }

  private pendingJoinFor(invite: ParsedInvite): PendingJoin {
    let pending = this.pendingJoins.get(invite.tag)
    if (!pending) {
      pending = { tag: invite.tag, creatorInboxId: invite.creatorInboxId, waiters: new Set() }
      this.pendingJoins.set(invite.tag, pending)
    }
    return pending
  }

  private waitForPendingJoin(pending: PendingJoin, options: { timeoutMs?: number; signal?: AbortSignal }) {
    if (pending.joined) return Promise.resolve({ conversationId: pending.joined })
    if (this.closed) return Promise.reject(new ConvosClientError("closed", "client is closed"))
    const waiter: Deferred<{ conversationId: string }> = deferred(
      { timeoutMs: options.timeoutMs ?? 60_000, ...(options.signal ? { signal: options.signal } : {}), what: "join by invite" },
      () => pending.waiters.delete(waiter),
    )
    pending.waiters.add(waiter)
    this.scheduleLocalCheck()
    return waiter.promise
  }

  /**
   * Resolves when the welcome for exactly this conversation arrives (at once if we are already in it); welcomes
   * of other groups do not count. Under `expected_only` this is how a group becomes ours.
   */
  async expectAdd(options: ExpectAddOptions): Promise<{ conversationId: string; addedByInboxId: string }> {
    this.assertOpen()
    const { conversationId } = options
    const expectation: AddExpectation = {
      ...(options.addedBy === undefined ? {} : { addedBy: options.addedBy }),
      pending: deferred(
        { ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }), ...(options.signal ? { signal: options.signal } : {}), what: `expect add to ${conversationId}` },
        () => {
          const set = this.expectations.get(conversationId)
          set?.delete(expectation)
          if (set?.size === 0) this.expectations.delete(conversationId)
        },
      ),
    }
    // Registered before looking locally, so a welcome landing in between cannot be missed.
    const set = this.expectations.get(conversationId) ?? new Set()
    set.add(expectation)
    this.expectations.set(conversationId, set)
    this.scheduleLocalCheck()
    try {
      const existing = await this.xmtp.conversations.getConversationById(conversationId)
      if (existing instanceof Group) await this.bindGroup(existing)
    } catch (error) {
      expectation.pending.promise.catch(() => undefined)
      expectation.pending.fail(error instanceof Error ? error : new Error(String(error)))
      throw error
    }
    return expectation.pending.promise
  }

  async addMembers(conversationId: string, inboxIds: string[]): Promise<void> {
    await (await this.requireGroup(conversationId)).addMembers(inboxIds)
  }

  async removeMembers(conversationId: string, inboxIds: string[]): Promise<void> {
    await (await this.requireGroup(conversationId)).removeMembers(inboxIds)
  }

  /** Asks the group's admins to remove us and stops delivering its messages here. */
  async leave(conversationId: string): Promise<void> {
    const group = await this.requireGroup(conversationId)
    await group.requestRemoval()
    this.setConsent(group, Consent.Denied)
  }

  // ---------- sending ----------

  async sendText(conversationId: string, text: string, options: { replyTo?: string } = {}): Promise<string> {
    const conversation = await this.requireConversation(conversationId)
    if (options.replyTo === undefined) return conversation.sendText(text)
    const original = this.xmtp.conversations.getMessageById(options.replyTo)
    return conversation.sendReply({
      reference: options.replyTo,
      ...(original ? { referenceInboxId: original.senderInboxId } : {}),
      content: encodeText(text),
    })
  }

  async react(conversationId: string, messageId: string, emoji: string, action: "added" | "removed" = "added"): Promise<string> {
    const conversation = await this.requireConversation(conversationId)
    const original = this.xmtp.conversations.getMessageById(messageId)
    return conversation.sendReaction({
      reference: messageId,
      referenceInboxId: original?.senderInboxId ?? "",
      action: action === "added" ? ReactionAction.Added : ReactionAction.Removed,
      content: emoji,
      schema: ReactionSchema.Unicode,
    } as never)
  }

  /**
   * Our display name in a group, marked as an agent for Convos apps: a profile update message, and when we may
   * write the group's appData (we are an admin), the appData profile too.
   */
  async setProfile(
    conversationId: string,
    profile: { name: string; isAgent: boolean; metadata?: Record<string, ProfileMetadataValue> },
  ): Promise<void> {
    const group = await this.requireGroup(conversationId)
    await this.sendProfileUpdate(group, profile)
    if (group.isAdmin(this.inboxId) || group.isSuperAdmin(this.inboxId)) {
      await group.updateAppData(encodeAppData(upsertProfile(decodeAppData(group.appData), { inboxId: this.inboxId, name: profile.name })))
    }
  }

  private async sendProfileUpdate(group: XmtpGroup, profile: { name: string; isAgent: boolean; metadata?: Record<string, ProfileMetadataValue> }) {
    await group.send(
      new ProfileUpdateCodec().encode({
        name: profile.name,
        memberKind: profile.isAgent ? MemberKind.Agent : MemberKind.Unspecified,
        ...(profile.metadata ? { metadata: profile.metadata } : {}),
      }) as never,
      { shouldPush: false } as never,
    )
  }

  /** Revokes every outstanding invite (new tag) and denies adding members from now on. */
  async lock(conversationId: string): Promise<void> {
    const group = await this.requireGroup(conversationId)
    await group.updateAppData(encodeAppData(rotateInviteTag(decodeAppData(group.appData))))
    await group.updatePermission(PermissionUpdate.AddMember as never, Policy.Deny as never)
  }

  async groupInfo(conversationId: string): Promise<GroupInfo> {
    const group = await this.requireGroup(conversationId)
    const members = await group.members()
    const policy = group.permissions().policySet.addMemberPolicy as number
    const metadata = readAppData(group.appData)
    return {
      conversationId: group.id,
      name: group.name,
      description: group.description,
      imageUrl: group.imageUrl,
      members: members.map((m) => ({
        inboxId: m.inboxId,
        role: (m.permissionLevel as number) === PermissionLevel.SuperAdmin ? "super_admin" : (m.permissionLevel as number) === PermissionLevel.Admin ? "admin" : "member",
      })),
      adminInboxIds: group.listAdmins(),
      superAdminInboxIds: group.listSuperAdmins(),
      membersMayAddMembers: policy === Policy.Allow,
      locked: policy === Policy.Deny,
      inviteTag: metadata.tag,
      profiles: metadata.profiles,
      isActive: group.isActive,
    }
  }

  /**
   * Looks for join requests the streams have not delivered (XMTP's stream can lose a new DM's first message): the
   * same read as at start. A creator waiting for its first member calls it often; the periodic sweep is slower.
   */
  async checkJoinRequests(): Promise<void> {
    this.assertOpen()
    await this.processMissedJoinRequests()
  }

  /** Conversation ids of the groups bound to this client (consent Allowed). */
  boundGroupIds(): string[] {
    return this.xmtp.conversations
      .listGroups()
      .filter((g) => g.consentState() === Consent.Allowed)
      .map((g) => g.id)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearTimeout(this.localCheckTimer)
    clearInterval(this.sweepTimer)
    await Promise.all([this.sweeping, this.localCheck])
    await Promise.all(this.streams.map((s) => s.stop()))
    const closedError = () => new ConvosClientError("closed", "client closed while waiting")
    for (const set of this.expectations.values()) for (const e of [...set]) e.pending.fail(closedError())
    for (const pending of this.pendingJoins.values()) for (const w of [...pending.waiters]) w.fail(closedError())
    await this.joinRequestQueue
    await this.xmtp.close()
  }

  // ---------- internals ----------

  private assertOpen(): void {
    if (this.closed) throw new ConvosClientError("closed", "client is closed")
  }

  private async requireConversation(conversationId: string): Promise<XmtpConversation> {
    this.assertOpen()
    const conversation = await this.xmtp.conversations.getConversationById(conversationId)
    if (!conversation) throw new ConvosClientError("conversation_not_found", `no conversation ${conversationId}`)
    return conversation
  }

  private async requireGroup(conversationId: string): Promise<XmtpGroup> {
    const conversation = await this.requireConversation(conversationId)
    if (!(conversation instanceof Group)) throw new ConvosClientError("not_a_group", `${conversationId} is a DM`)
    return conversation
  }

  private reportError(error: unknown, context: string): void {
    // Work cut short by close() is expected, not a failure worth reporting.
    if (this.closed && error instanceof ConvosClientError && error.reason === "closed") return
    if (this.options.onError) this.options.onError(error, context)
    else console.error(`[convos] ${context}:`, error instanceof Error ? error.message : String(error))
  }

  private emit<E>(handlers: Set<(event: E) => void | Promise<void>>, event: E, context: string): void {
    for (const handler of handlers) {
      // Handlers run detached so a slow consumer (a model call) never stalls the streams; failures are reported.
      try {
        void Promise.resolve(handler(event)).catch((error: unknown) => this.reportError(error, context))
      } catch (error) {
        this.reportError(error, context)
      }
    }
  }

  private emitConversation(event: ConversationEvent): void {
    this.emit(this.conversationHandlers, event, "onConversation handler")
  }

  private consentOf(conversation: XmtpConversation): number {
    let state = this.consent.get(conversation.id)
    if (state === undefined) {
      state = conversation.consentState() as number
      this.consent.set(conversation.id, state)
    }
    return state
  }

  private setConsent(conversation: XmtpConversation, state: number): void {
    this.consent.set(conversation.id, state)
    conversation.updateConsentState(state as never)
  }

  private welcomeSyncFailing = false
  private lastWelcomeSyncAt = Date.now()
  private localCheckRunning = false
  private localCheck: Promise<void> = Promise.resolve()

  /**
   * Safety net for welcomes the streams do not announce. libxmtp processes each welcome on two subscriptions (the
   * conversation stream and the message stream's own); when the message stream wins, the conversation stream never
   * yields that group (seen here in about 1 of 40 adds), and the live stream can lose one altogether. Being added
   * carries no message for the one added, so nothing else would tell us. The local database (no network) is checked
   * for undecided groups every LOCAL_CHECK_MS while an expectation or a join waits, else every UNDECIDED_CHECK_MS;
   * undecided groups are few, as every group seen is decided at once. Every WELCOME_SYNC_EVERY_MS a welcome sync
   * (one read) first fetches what the live stream lost. The check only ever accepts: a group synced in at start may
   * be one the owner is about to expect again (a restart while waiting for an add); refusing stays with the streams.
   */
  private scheduleLocalCheck(): void {
    if (this.closed || this.localCheckRunning) return // the running check reschedules itself when done
    const someoneWaits = this.expectations.size > 0 || [...this.pendingJoins.values()].some((p) => !p.joined && p.waiters.size > 0)
    clearTimeout(this.localCheckTimer)
    this.localCheckTimer = setTimeout(() => (this.localCheck = this.runLocalCheck()), someoneWaits ? LOCAL_CHECK_MS : UNDECIDED_CHECK_MS)
    this.localCheckTimer.unref()
  }

  private async runLocalCheck(): Promise<void> {
    this.localCheckRunning = true
    try {
      if (Date.now() - this.lastWelcomeSyncAt >= WELCOME_SYNC_EVERY_MS) {
        this.lastWelcomeSyncAt = Date.now()
        await this.syncWelcomesQuietly()
      }
      // An expected group is bound whatever its consent: the expectation is what makes it ours.
      for (const conversationId of [...this.expectations.keys()]) {
        const group = await this.xmtp.conversations.getConversationById(conversationId)
        if (group instanceof Group) await this.bindGroup(group)
      }
      for (const group of this.xmtp.conversations.listGroups({ consentStates: [Consent.Unknown as never] }))
        await this.bindGroup(group, { acceptOnly: true })
    } catch (error) {
      if (!this.closed) this.reportError(error, "local welcome check")
    } finally {
      this.localCheckRunning = false
      this.scheduleLocalCheck()
    }
  }

  /** While the network is down this fails every few seconds: only the first failure of a run is reported. */
  private async syncWelcomesQuietly(): Promise<void> {
    try {
      await this.xmtp.conversations.sync()
      this.welcomeSyncFailing = false
    } catch (error) {
      if (!this.welcomeSyncFailing) this.reportError(error, "welcome sync")
      this.welcomeSyncFailing = true
    }
  }

  /**
   * Decides, once, whether a group is ours: called from both streams because a group's first message can arrive
   * before its welcome is seen on the welcome stream.
   */
  private async bindGroup(group: XmtpGroup, options: { acceptOnly?: boolean } = {}): Promise<boolean> {
    const state = this.consentOf(group)
    const addedBy = group.addedByInboxId
    const expectations = [...(this.expectations.get(group.id) ?? [])]
    const matching = expectations.filter((e) => e.addedBy === undefined || sameId(e.addedBy, addedBy))
    const pendingJoin = this.pendingJoins.get(readAppData(group.appData).tag)
    const wasBound = state === Consent.Allowed
    let via: "created" | "added" | "invite" | undefined
    if (matching.length > 0) via = "added"
    else if (pendingJoin && !pendingJoin.joined) via = "invite"
    else if (wasBound) via = undefined
    else if (state === Consent.Unknown && sameId(addedBy, this.inboxId)) via = "created"
    else if (state === Consent.Unknown && this.options.welcomePolicy === "accept_all") via = "added"

    if (!wasBound && via === undefined) {
      if (state === Consent.Unknown && !options.acceptOnly) {
        this.setConsent(group, Consent.Denied)
        this.emitConversation({ type: "ignored", conversationId: group.id, addedByInboxId: addedBy })
      }
      return false
    }
    if (!wasBound) {
      this.setConsent(group, Consent.Allowed)
      this.emitConversation({ type: "joined", conversationId: group.id, via: via ?? "added", addedByInboxId: addedBy })
    }
    for (const expectation of matching) expectation.pending.succeed({ conversationId: group.id, addedByInboxId: addedBy })
    if (pendingJoin && !pendingJoin.joined) {
      pendingJoin.joined = group.id
      for (const waiter of [...pendingJoin.waiters]) waiter.succeed({ conversationId: group.id })
    }
    return true
  }

  private async startStreams(): Promise<void> {
    const onError = (error: unknown, context: string) => this.reportError(error, context)
    const backoff = this.options.streamBackoff ? { backoff: this.options.streamBackoff } : {}
    const welcomes = superviseStream<XmtpConversation>({
      name: "conversations",
      open: () => this.xmtp.conversations.stream({ retryOnFail: false }),
      onItem: (conversation) => this.onNewConversation(conversation),
      onError,
      // Welcomes that landed while the stream was down are in the local DB after a sync.
      onRestart: async () => {
        await this.xmtp.conversations.sync()
        for (const group of this.xmtp.conversations.listGroups()) await this.onNewConversation(group)
      },
      ...backoff,
    })
    const messages = superviseStream<DecodedMessage<unknown>>({
      name: "messages",
      open: () => this.xmtp.conversations.streamAllMessages({ retryOnFail: false }),
      onItem: (message) => this.onStreamedMessage(message),
      onError,
      onRestart: () => this.catchUpMessages(),
      ...backoff,
    })
    this.streams = [welcomes, messages]
    this.messagesSeenUntilNs = BigInt(Date.now()) * 1_000_000n
    this.sweptUntilNs = this.messagesSeenUntilNs
    await Promise.all([welcomes.ready, messages.ready])
    this.scheduleLocalCheck()
    const every = this.options.catchUpEveryMs ?? DEFAULT_CATCH_UP_EVERY_MS
    if (every > 0) {
      this.sweepTimer = setInterval(() => {
        if (this.closed || this.sweepRunning) return
        this.sweepRunning = true
        this.sweeping = this.sweepMissedMessages()
          .catch((error: unknown) => this.reportError(error, "catch-up sweep"))
          .finally(() => {
            this.sweepRunning = false
          })
      }, every)
      this.sweepTimer.unref()
    }
  }

  private sweepTimer: ReturnType<typeof setInterval> | undefined
  private sweepRunning = false
  private sweeping: Promise<void> = Promise.resolve()
  /** Start of the previous sweep: the next one reads everything sent since (minus the skew margin). */
  private sweptUntilNs = 0n

  /** Messages the live stream skipped since the previous sweep (a later message does not hide an earlier gap). */
  private async sweepMissedMessages(): Promise<void> {
    const startedNs = BigInt(Date.now()) * 1_000_000n
    await this.readMessagesSince(this.sweptUntilNs - CATCH_UP_MARGIN_NS)
    this.sweptUntilNs = startedNs
  }

  /** Newest message seen, or the time the message stream first opened: where a catch-up starts. */
  private messagesSeenUntilNs = 0n

  /**
   * After a message-stream restart: messages sent while it was down (a re-opened stream starts after its initial
   * sync, so it never yields them), through the same dedupe. The margin absorbs clock skew between senders.
   */
  private async catchUpMessages(): Promise<void> {
    await this.readMessagesSince(this.messagesSeenUntilNs - CATCH_UP_MARGIN_NS)
  }

  private async readMessagesSince(sinceNs: bigint): Promise<void> {
    await this.xmtp.conversations.syncAll()
    for (const conversation of await this.xmtp.conversations.list()) {
      if (this.closed) return
      // The sync may have taken in a welcome before the conversation stream saw it: treat it as the stream would.
      await this.onNewConversation(conversation)
      if (this.consentOf(conversation) === Consent.Denied) continue
      for (const message of await conversation.messages({ sentAfterNs: sinceNs })) await this.onStreamedMessage(message)
    }
  }

  /**
   * Join requests that arrived while this client was offline (the stream only delivers new messages): the last
   * few messages of every DM not denied, like the Convos CLI's batch mode. Re-deciding one already applied is
   * harmless (already_member).
   */
  private async processMissedJoinRequests(): Promise<void> {
    await this.xmtp.conversations.sync()
    for (const dm of this.xmtp.conversations.listDms()) {
      if (this.consentOf(dm) === Consent.Denied) continue
      await dm.sync()
      for (const message of await dm.messages({ limit: 10, direction: 1 /* descending */ } as never)) {
        if (sameId(message.senderInboxId, this.inboxId)) continue
        const request = joinRequestFromMessage({ senderInboxId: message.senderInboxId, contentType: message.contentType, content: message.content })
        // Only join requests are taken here (and so marked seen): other DM messages stay with the streams and sweeps.
        if (request && (request.structured || normaliseMessage({ ...message, contentType: message.contentType as ContentTypeId }, true).kind === "join_request"))
          if (this.seenMessages.firstSeen(message.id)) this.enqueueJoinRequest(request, dm)
      }
    }
  }

  private async onNewConversation(conversation: XmtpConversation): Promise<void> {
    if (conversation instanceof Group) {
      await this.bindGroup(conversation)
      return
    }
    if (!this.seenConversations.firstSeen(conversation.id)) return
    if (this.consentOf(conversation) !== Consent.Denied)
      this.emitConversation({ type: "dm", conversationId: conversation.id, peerInboxId: conversation.peerInboxId })
  }

  private async onStreamedMessage(message: DecodedMessage<unknown>): Promise<void> {
    if (!message || !this.seenMessages.firstSeen(message.id)) return
    if (message.sentAtNs > this.messagesSeenUntilNs) this.messagesSeenUntilNs = message.sentAtNs
    if (sameId(message.senderInboxId, this.inboxId)) return
    const conversation = await this.xmtp.conversations.getConversationById(message.conversationId)
    if (!conversation) return
    const isDm = conversation instanceof Dm
    if (conversation instanceof Group) {
      if (this.consentOf(conversation) !== Consent.Allowed && !(await this.bindGroup(conversation))) return
    } else if (this.consentOf(conversation) === Consent.Denied) return

    const event = normaliseMessage(
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
    if (isDm && this.options.processJoinRequests !== false) {
      const request = joinRequestFromMessage({ senderInboxId: message.senderInboxId, contentType: message.contentType, content: message.content })
      if (request && event.kind === "join_request") this.enqueueJoinRequest(request, conversation as Dm<unknown>)
    }
    if (event.kind === "group_updated" && event.groupUpdate) this.onGroupUpdated(event)
    this.emit(this.messageHandlers, event, "onMessage handler")
  }

  private onGroupUpdated(event: ConvosMessageEvent): void {
    const update = event.groupUpdate
    if (!update) return
    const removedUs = [...update.removedInboxIds, ...update.leftInboxIds].some((id) => sameId(id, this.inboxId))
    if (removedUs) {
      this.emitConversation({ type: "removed", conversationId: event.conversationId, byInboxId: update.initiatedByInboxId })
      return
    }
    if (update.addedInboxIds.length + update.removedInboxIds.length + update.leftInboxIds.length > 0)
      this.emitConversation({
        type: "members_changed",
        conversationId: event.conversationId,
        addedInboxIds: update.addedInboxIds,
        removedInboxIds: [...update.removedInboxIds, ...update.leftInboxIds],
        byInboxId: update.initiatedByInboxId,
      })
  }

  /** One at a time: a joiner sends the structured request and the plain slug, and both must not add twice. */
  private enqueueJoinRequest(request: JoinRequestMessage, dm: Dm<unknown>): void {
    this.joinRequestQueue = this.joinRequestQueue
      .then(() => this.handleJoinRequest(request, dm))
      .catch((error: unknown) => this.reportError(error, "join request"))
  }

  private async handleJoinRequest(request: JoinRequestMessage, dm: Dm<unknown>): Promise<void> {
    if (this.closed) return
    const evidence = await gatherJoinRequestEvidence(request, {
      selfInboxId: this.inboxId,
      walletKey: this.identity.walletKey,
      lookupGroup: (conversationId) => this.groupSnapshot(conversationId),
    })
    const verdict = decideJoinRequest(evidence)
    const door = this.options.frontDoor
    if (verdict.kind === "accept" && door?.isDoor(verdict.conversationId)) {
      // The structured request and its plain-text twin both arrive: one private conversation per joiner.
      if (!(await this.privateConversationOf(verdict.invite.tag, verdict.conversationId, verdict.joinerInboxId))) {
        const conversationId = await this.openPrivateConversation(door, verdict.invite.tag, verdict.joinerInboxId)
        this.emitConversation({ type: "front_door", conversationId, doorConversationId: verdict.conversationId, joinerInboxId: verdict.joinerInboxId })
      }
      this.setConsent(dm, Consent.Allowed)
    } else if (verdict.kind === "accept") {
      const group = await this.requireGroup(verdict.conversationId)
      await group.addMembers([verdict.joinerInboxId])
      this.setConsent(dm, Consent.Allowed)
    } else if (verdict.kind === "deny") {
      this.setConsent(dm, Consent.Denied)
    }
    this.emit(this.joinRequestHandlers, { senderInboxId: request.senderInboxId, dmConversationId: dm.id, verdict }, "onJoinRequest handler")
  }

  /** The joiner's private conversation behind this door, if it is still in one. */
  private async privateConversationOf(tag: string, doorConversationId: string, joinerInboxId: string): Promise<string | undefined> {
    for (const group of this.xmtp.conversations.listGroups()) {
      if (group.id === doorConversationId || readAppData(group.appData).tag !== tag || !group.isActive) continue
      if ((await group.members()).some((m) => sameId(m.inboxId, joinerInboxId))) return group.id
    }
    return undefined
  }

  private async openPrivateConversation(door: FrontDoorOptions, tag: string, joinerInboxId: string): Promise<string> {
    const group = await this.xmtp.conversations.createGroup([joinerInboxId], {
      groupName: door.profile.name,
      ...(door.description === undefined ? {} : { groupDescription: door.description }),
      permissions: GroupPermissions.AllMembers,
      appData: encodeAppData({ tag, profiles: [{ inboxId: this.inboxId, name: door.profile.name }] }),
    } as never)
    this.setConsent(group, Consent.Allowed)
    await this.sendProfileUpdate(group, door.profile)
    return group.id
  }

  /**
   * What a member declared itself in a conversation: its newest profile update there, else the newest profile
   * snapshot naming it (both are in the local history, so this survives restarts). Undefined when it never said.
   */
  async declaredMemberKind(conversationId: string, inboxId: string): Promise<MemberKind | undefined> {
    const conversation = await this.requireConversation(conversationId)
    const messages = await conversation.messages({ limit: 500, direction: 1 /* descending */ } as never)
    for (const message of messages) {
      const event = normaliseMessage({ ...message, contentType: message.contentType as ContentTypeId | undefined }, conversation instanceof Dm)
      if (event.kind === "profile_update" && event.profile && sameId(message.senderInboxId, inboxId))
        return event.profile.memberKind ?? MemberKind.Unspecified
      if (event.kind === "profile_snapshot" && event.profileSnapshot) {
        const entry = event.profileSnapshot.profiles.find((p) => sameId(p.inboxId, inboxId))
        if (entry) return entry.memberKind ?? MemberKind.Unspecified
      }
    }
    return undefined
  }

  private async groupSnapshot(conversationId: string): Promise<GroupSnapshot | undefined> {
    const conversation = await this.xmtp.conversations.getConversationById(conversationId)
    if (!(conversation instanceof Group) || !conversation.isActive) return undefined
    const members = await conversation.members()
    return { inviteTag: readAppData(conversation.appData).tag, memberInboxIds: members.map((m) => m.inboxId) }
  }
}
