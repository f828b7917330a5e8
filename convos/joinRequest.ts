/**
 * Creator side of Convos invites: what to do with a join request that arrived in a DM.
 *
 * `gatherJoinRequestEvidence` does the crypto and lookups (signature recovery, token decryption, group state);
 * `decideJoinRequest` is the pure verdict over that evidence:
 * - accept  → add the sender to the conversation and allow the DM;
 * - deny    → a structured request that is forged or malformed: deny (block) the DM;
 * - ignore  → honest but not actionable (expired, revoked by a lock, already a member, not an invite): do nothing.
 */
import type { Hex } from "viem"
import { sameContentType, ContentTypeJoinRequest, type ContentTypeId, type JoinRequestContent } from "./contentTypes.ts"
import {
  decryptConversationToken,
  isInviteExpired,
  isWellFormedInviteSignature,
  tryParseInvite,
  verifyInviteSigner,
  type InviteParseError,
  type ParsedInvite,
} from "./invite.ts"

export type JoinDenyReason = "malformed_invite" | "unverifiable_signature" | "wrong_creator" | "signature_mismatch" | "undecryptable_token"
export type JoinIgnoreReason =
  | "own_message"
  | "not_an_invite"
  | "not_our_invite"
  | "invite_expired"
  | "conversation_not_found"
  | "invite_revoked"
  | "already_member"

export type JoinVerdict =
  | { kind: "accept"; conversationId: string; joinerInboxId: string; invite: ParsedInvite }
  | { kind: "deny"; reason: JoinDenyReason }
  | { kind: "ignore"; reason: JoinIgnoreReason }

/** The slug a DM message carries, if it is a join request (structured or the legacy plain-text slug). */
export interface JoinRequestMessage {
  senderInboxId: string
  /** True for `convos.org/join_request`, false for a plain text that may hold a slug. */
  structured: boolean
  slug: string
}

export function joinRequestFromMessage(message: {
  senderInboxId: string
  contentType: ContentTypeId | undefined
  content: unknown
}): JoinRequestMessage | undefined {
  if (sameContentType(message.contentType, ContentTypeJoinRequest)) {
    const content = message.content as Partial<JoinRequestContent> | undefined
    const slug = typeof content?.inviteSlug === "string" ? content.inviteSlug : ""
    return { senderInboxId: message.senderInboxId, structured: true, slug }
  }
  if (typeof message.content === "string" && message.contentType?.typeId === "text")
    return { senderInboxId: message.senderInboxId, structured: false, slug: message.content }
  return undefined
}

export interface GroupSnapshot {
  /** The invite tag currently in the group's appData. */
  inviteTag: string
  memberInboxIds: readonly string[]
}

export interface JoinRequestEvidence {
  request: JoinRequestMessage
  selfInboxId: string
  parsed: { ok: true; invite: ParsedInvite } | { ok: false; error: InviteParseError }
  /** "ours": our wallet key signed exactly this payload; "malformed": no key could have made this signature. */
  signature: "ours" | "not_ours" | "malformed"
  /** Decrypted conversation id; undefined if the token does not open with our key. */
  conversationId: string | undefined
  /** Current state of that conversation; undefined when we have no such group. */
  group: GroupSnapshot | undefined
  now: Date
}

const sameId = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase()

export function decideJoinRequest(evidence: JoinRequestEvidence): JoinVerdict {
  const { request, parsed } = evidence
  if (sameId(request.senderInboxId, evidence.selfInboxId)) return { kind: "ignore", reason: "own_message" }
  if (!parsed.ok) {
    // Plain DM text that is not a slug is conversation, not an attack.
    return request.structured ? { kind: "deny", reason: "malformed_invite" } : { kind: "ignore", reason: "not_an_invite" }
  }
  const invite = parsed.invite
  // A plain text is a legacy request at best, and as likely a link pasted for us to join: never grounds to deny.
  if (!request.structured && !(evidence.signature === "ours" && sameId(invite.creatorInboxId, evidence.selfInboxId)))
    return { kind: "ignore", reason: "not_our_invite" }
  if (evidence.signature === "malformed") return { kind: "deny", reason: "unverifiable_signature" }
  if (!sameId(invite.creatorInboxId, evidence.selfInboxId)) return { kind: "deny", reason: "wrong_creator" }
  // Claims to be ours but another key signed it (forged), or the payload changed after signing (tampered).
  if (evidence.signature !== "ours") return { kind: "deny", reason: "signature_mismatch" }
  if (evidence.conversationId === undefined) return { kind: "deny", reason: "undecryptable_token" }
  if (isInviteExpired(invite, evidence.now)) return { kind: "ignore", reason: "invite_expired" }
  const group = evidence.group
  if (!group) return { kind: "ignore", reason: "conversation_not_found" }
  if (group.inviteTag !== invite.tag) return { kind: "ignore", reason: "invite_revoked" }
  if (group.memberInboxIds.some((id) => sameId(id, request.senderInboxId))) return { kind: "ignore", reason: "already_member" }
  return { kind: "accept", conversationId: evidence.conversationId, joinerInboxId: request.senderInboxId, invite }
}

export interface GatherOptions {
  selfInboxId: string
  walletKey: Hex
  /** Reads a group's invite tag and members; undefined when this client has no such group. */
  lookupGroup(conversationId: string): Promise<GroupSnapshot | undefined>
  now?: Date
}

export async function gatherJoinRequestEvidence(request: JoinRequestMessage, options: GatherOptions): Promise<JoinRequestEvidence> {
  const parsed = tryParseInvite(request.slug)
  const base = { request, selfInboxId: options.selfInboxId, parsed, now: options.now ?? new Date() }
  if (!parsed.ok) return { ...base, signature: "malformed", conversationId: undefined, group: undefined }
  const signedByUs = verifyInviteSigner(parsed.invite, options.walletKey)
  const signature = signedByUs ? "ours" : isWellFormedInviteSignature(parsed.invite.signature) ? "not_ours" : "malformed"
  // Only open tokens that we signed and that name us: nothing else is worth a decryption attempt or a lookup.
  const conversationId =
    signedByUs && sameId(parsed.invite.creatorInboxId, options.selfInboxId)
      ? decryptConversationToken(parsed.invite.conversationToken, options.selfInboxId.toLowerCase(), options.walletKey)
      : undefined
  const group = conversationId === undefined ? undefined : await options.lookupGroup(conversationId)
  return { ...base, signature, conversationId, group }
}
