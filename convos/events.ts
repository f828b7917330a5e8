/**
 * Normalised inbound events: what the runtime plugin and the manager bot see instead of raw XMTP messages.
 * Pure functions over a structural view of a decoded message, so they are tested without a client.
 */
import {
  ContentTypeExplodeSettings,
  ContentTypeJoinRequest,
  ContentTypeProfileSnapshot,
  ContentTypeProfileUpdate,
  ContentTypeTypingIndicator,
  sameContentType,
  type ContentTypeId,
  type ProfileSnapshot,
  type ProfileUpdate,
} from "./contentTypes.ts"
import { tryParseInvite } from "./invite.ts"

export type MessageKind =
  | "text"
  | "markdown"
  | "reply"
  | "reaction"
  | "attachment"
  | "remote_attachment"
  | "group_updated"
  | "read_receipt"
  | "leave_request"
  | "join_request"
  | "profile_update"
  | "profile_snapshot"
  | "typing"
  | "explode_settings"
  | "unknown"

export interface GroupUpdate {
  initiatedByInboxId: string
  addedInboxIds: string[]
  removedInboxIds: string[]
  leftInboxIds: string[]
  metadataChanges: { field: string; oldValue?: string; newValue?: string }[]
}

export interface ConvosMessageEvent {
  id: string
  conversationId: string
  senderInboxId: string
  sentAt: Date
  isDm: boolean
  kind: MessageKind
  /** "authority/type:major.minor" of the XMTP content type. */
  contentType: string
  /** Text of a text/markdown message, of a reply, the emoji of a reaction, the slug of a join request. */
  text?: string
  /** For a reply: the message replied to. For a reaction: the message reacted to. */
  referenceMessageId?: string
  reaction?: { emoji: string; action: "added" | "removed" }
  attachment?: { filename?: string; mimeType?: string; url?: string; contentLength?: number }
  groupUpdate?: GroupUpdate
  profile?: ProfileUpdate
  profileSnapshot?: ProfileSnapshot
  isTyping?: boolean
  /** The sender's fallback text for content types this layer does not know. */
  fallback?: string
  /** The decoded content as the SDK produced it, for consumers that need more (e.g. attachment secrets). */
  raw: unknown
}

/** The fields of an SDK `DecodedMessage` this module reads. */
export interface MessageView {
  id: string
  conversationId: string
  senderInboxId: string
  sentAt: Date
  contentType: ContentTypeId | undefined
  content: unknown
  fallback?: string | undefined
}

const XMTP = "xmtp.org"
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null
const str = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined)
const inboxIds = (value: unknown): string[] =>
  Array.isArray(value) ? value.flatMap((inbox) => (isRecord(inbox) && typeof inbox.inboxId === "string" ? [inbox.inboxId] : [])) : []

function contentTypeString(type: ContentTypeId | undefined): string {
  return type ? `${type.authorityId}/${type.typeId}:${type.versionMajor}.${type.versionMinor}` : "unknown"
}

export function normaliseMessage(message: MessageView, isDm: boolean): ConvosMessageEvent {
  const base: ConvosMessageEvent = {
    id: message.id,
    conversationId: message.conversationId,
    senderInboxId: message.senderInboxId,
    sentAt: message.sentAt,
    isDm,
    kind: "unknown",
    contentType: contentTypeString(message.contentType),
    raw: message.content,
  }
  if (message.fallback) base.fallback = message.fallback
  const type = message.contentType
  const content = message.content
  if (type?.authorityId === XMTP) {
    switch (type.typeId) {
      case "text":
      case "markdown": {
        const text = str(content)
        if (text === undefined) return base
        // A plain-text slug in a DM is the legacy join request, not conversation.
        if (isDm && type.typeId === "text" && tryParseInvite(text).ok) return { ...base, kind: "join_request", text: text.trim() }
        return { ...base, kind: type.typeId, text }
      }
      case "reply": {
        if (!isRecord(content)) return base
        const event: ConvosMessageEvent = { ...base, kind: "reply" }
        const reference = str(content.referenceId) ?? str(content.reference)
        if (reference) event.referenceMessageId = reference
        const inner = str(content.content)
        if (inner !== undefined) event.text = inner
        return event
      }
      case "reaction": {
        if (!isRecord(content)) return base
        const emoji = str(content.content) ?? ""
        const action = content.action === 2 || content.action === "removed" ? "removed" : "added"
        const event: ConvosMessageEvent = { ...base, kind: "reaction", text: emoji, reaction: { emoji, action } }
        const reference = str(content.reference)
        if (reference) event.referenceMessageId = reference
        return event
      }
      case "attachment":
      case "remoteStaticAttachment":
      case "multiRemoteStaticAttachment": {
        if (!isRecord(content)) return base
        const first = Array.isArray(content.attachments) && isRecord(content.attachments[0]) ? content.attachments[0] : content
        const attachment: NonNullable<ConvosMessageEvent["attachment"]> = {}
        const filename = str(first.filename)
        const mimeType = str(first.mimeType)
        const url = str(first.url)
        if (filename) attachment.filename = filename
        if (mimeType) attachment.mimeType = mimeType
        if (url) attachment.url = url
        if (typeof first.contentLength === "number") attachment.contentLength = first.contentLength
        return { ...base, kind: type.typeId === "attachment" ? "attachment" : "remote_attachment", attachment }
      }
      case "group_updated": {
        if (!isRecord(content)) return base
        const metadataChanges = Array.isArray(content.metadataFieldChanges)
          ? content.metadataFieldChanges.flatMap((change) => {
              if (!isRecord(change) || typeof change.fieldName !== "string") return []
              const entry: GroupUpdate["metadataChanges"][number] = { field: change.fieldName }
              const oldValue = str(change.oldValue)
              const newValue = str(change.newValue)
              if (oldValue !== undefined) entry.oldValue = oldValue
              if (newValue !== undefined) entry.newValue = newValue
              return [entry]
            })
          : []
        return {
          ...base,
          kind: "group_updated",
          groupUpdate: {
            initiatedByInboxId: str(content.initiatedByInboxId) ?? "",
            addedInboxIds: inboxIds(content.addedInboxes),
            removedInboxIds: inboxIds(content.removedInboxes),
            leftInboxIds: inboxIds(content.leftInboxes),
            metadataChanges,
          },
        }
      }
      case "readReceipt":
        return { ...base, kind: "read_receipt" }
      case "leave_request":
        return { ...base, kind: "leave_request" }
    }
    return base
  }
  if (sameContentType(type, ContentTypeJoinRequest)) {
    const slug = isRecord(content) ? str(content.inviteSlug) : undefined
    return slug === undefined ? base : { ...base, kind: "join_request", text: slug }
  }
  if (sameContentType(type, ContentTypeProfileUpdate) && isRecord(content))
    return { ...base, kind: "profile_update", profile: content as ProfileUpdate }
  if (sameContentType(type, ContentTypeProfileSnapshot) && isRecord(content))
    return { ...base, kind: "profile_snapshot", profileSnapshot: content as unknown as ProfileSnapshot }
  if (sameContentType(type, ContentTypeTypingIndicator) && isRecord(content) && typeof content.isTyping === "boolean")
    return { ...base, kind: "typing", isTyping: content.isTyping }
  if (sameContentType(type, ContentTypeExplodeSettings)) return { ...base, kind: "explode_settings" }
  return base
}

/** Remembers the last `capacity` ids; `firstSeen` is true exactly once per id while it is remembered. */
export class RecentIds {
  private readonly seen = new Set<string>()
  private readonly order: string[] = []
  private next = 0
  constructor(private readonly capacity = 10_000) {}
  firstSeen(id: string): boolean {
    if (this.seen.has(id)) return false
    if (this.order.length < this.capacity) this.order.push(id)
    else {
      this.seen.delete(this.order[this.next] as string)
      this.order[this.next] = id
      this.next = (this.next + 1) % this.capacity
    }
    this.seen.add(id)
    return true
  }
}
