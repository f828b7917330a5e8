/**
 * The manager's view of XMTP/Convos: what it hears and the few things it does there. The production layer wraps
 * `convos/`; unit tests use an in-memory fake.
 */
import { Context, Effect, Schema, type Stream } from "effect"

export interface InboundMessage {
  readonly messageId: string
  readonly conversationId: string
  /** `dm` for a DM, or a group holding only the sender and the manager. */
  readonly conversationKind: "dm" | "group"
  /** An XMTP group, even one holding only the sender and the manager (agents can be added to it); false for a DM. */
  readonly inGroup?: boolean | undefined
  readonly senderInboxId: string
  readonly text: string
  /** Inbox id of the author of the message this one replies to, if it is a reply. */
  readonly replyToInboxId?: string | undefined
  /** From the sender's Convos profile, when known. */
  readonly senderMemberKind?: "agent" | "human" | undefined
  readonly sentAt: Date
}

/** Whether agents can be added where this message was written (any group; `conversationKind` alone when unknown). */
export const inGroup = (message: InboundMessage): boolean => message.inGroup ?? message.conversationKind === "group"

export type ChatEvent =
  | ({ readonly _tag: "Message" } & InboundMessage)
  /** The manager was added to a group (or its join request was accepted). */
  | { readonly _tag: "JoinedGroup"; readonly conversationId: string }
  /** Someone joined through the manager's published link and got a conversation of their own with it. */
  | { readonly _tag: "FrontDoorOpened"; readonly conversationId: string }
  /** Members left or were removed (by anyone): agents among them no longer belong to this conversation. */
  | { readonly _tag: "MembersRemoved"; readonly conversationId: string; readonly inboxIds: ReadonlyArray<string> }

export class ChatError extends Schema.TaggedError<ChatError>()("ChatError", {
  reason: Schema.Literals(["not_allowed", "not_found", "invalid_invite", "failed"]),
  message: Schema.String,
}) {}

export interface JoinOutcome {
  readonly status: "joined" | "pending"
  readonly conversationId: string | null
}

export class Chat extends Context.Service<
  Chat,
  {
    readonly selfInboxId: string
    readonly events: Stream.Stream<ChatEvent, ChatError>
    sendText(conversationId: string, text: string): Effect.Effect<void, ChatError>
    addMembers(conversationId: string, inboxIds: ReadonlyArray<string>): Effect.Effect<void, ChatError>
    removeMembers(conversationId: string, inboxIds: ReadonlyArray<string>): Effect.Effect<void, ChatError>
    /** Whether the manager itself may add members to this group right now. */
    canAddMembers(conversationId: string): Effect.Effect<boolean, ChatError>
    isAdmin(conversationId: string, inboxId: string): Effect.Effect<boolean, ChatError>
    /** Who is in the group now, as its member list says. */
    memberInboxIds(conversationId: string): Effect.Effect<ReadonlyArray<string>, ChatError>
    /** Whether a member asked the group's admins to remove it since a time: an admin's app then removes it. */
    askedToLeave(conversationId: string, inboxId: string, since: Date): Effect.Effect<boolean, ChatError>
    joinByInvite(inviteUrl: string): Effect.Effect<JoinOutcome, ChatError>
  }
>()("manager-agent/Chat") {}
