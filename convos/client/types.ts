/** The client's public types: its options, events, results and its one error. */
import type { ConvosEnv } from "../invite.ts"
import type { JoinVerdict } from "../joinRequest.ts"
import type { ConversationProfile } from "../metadata.ts"
import type { BackoffPolicy } from "../streams.ts"

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
