/**
 * What the client does in a conversation it is in: create one (with its invite), invite, add and remove members,
 * leave, send text and reactions, set our profile, read a group's state and what a member declared itself.
 */
import { encodeText } from "@xmtp/node-sdk"
import { MemberKind, ProfileSnapshotCodec, ProfileUpdateCodec, type ContentTypeId, type ProfileMetadataValue } from "../contentTypes.ts"
import { normaliseMessage, type ConvosMessageEvent } from "../events.ts"
import { createInvite, type CreatedInvite } from "../invite.ts"
import { decodeAppData, encodeAppData, newInviteTag, readAppData, upsertProfile } from "../metadata.ts"
import { profileSnapshotOf, resolveProfiles } from "../profiles.ts"
import type { ClientCore } from "./core.ts"
import {
  addMemberPolicyOf,
  Consent,
  createGroup,
  Dm,
  leaveRequestsSince,
  newestMessages,
  nsOf,
  PermissionLevel,
  permissionLevelOf,
  Policy,
  sendEncoded,
  sendReaction,
  type XmtpConversation,
  type XmtpGroup,
} from "./sdk.ts"
import { ConvosClientError, type CreateConversationOptions, type CreatedConversation, type GroupInfo } from "./types.ts"
import { sameId } from "./core.ts"

export type Profile = { name: string; isAgent: boolean; metadata?: Record<string, ProfileMetadataValue> }

/** A conversation's recent history (the newest 500 messages, newest first) as events, decoded as they are read. */
const profileHistory = async (conversation: XmtpConversation): Promise<Iterable<ConvosMessageEvent>> => {
  const messages = await newestMessages(conversation, 500)
  const isDm = conversation instanceof Dm
  return (function* () {
    for (const message of messages) yield normaliseMessage({ ...message, contentType: message.contentType as ContentTypeId | undefined }, isDm)
  })()
}

/**
 * After an add: the members' profiles as a snapshot message (convos/profiles.ts), so the newcomers know who is who
 * at once. Nothing is sent when no member has a profile yet. Not pushed.
 */
export const sendProfileSnapshot = async (group: XmtpGroup): Promise<void> => {
  const members = (await group.members()).map((m) => m.inboxId)
  const snapshot = profileSnapshotOf(await profileHistory(group), members)
  if (snapshot.profiles.length > 0) await sendEncoded(group, new ProfileSnapshotCodec().encode(snapshot), { shouldPush: false })
}

/** Our profile in a group, as a profile update message (not pushed: nobody needs a notification for it). */
export const sendProfileUpdate = async (group: XmtpGroup, profile: Profile): Promise<void> => {
  await sendEncoded(
    group,
    new ProfileUpdateCodec().encode({
      name: profile.name,
      memberKind: profile.isAgent ? MemberKind.Agent : MemberKind.Unspecified,
      ...(profile.metadata ? { metadata: profile.metadata } : {}),
    }),
    { shouldPush: false },
  )
}

export class Conversations {
  constructor(private readonly core: ClientCore) {}

  async createConversation(options: CreateConversationOptions): Promise<CreatedConversation> {
    const core = this.core
    core.assertOpen()
    const tag = newInviteTag()
    const profiles = options.profile ? [{ inboxId: core.inboxId, name: options.profile.name }] : []
    const group = await createGroup(core.xmtp, options.memberInboxIds ?? [], {
      name: options.name,
      ...(options.description === undefined ? {} : { description: options.description }),
      ...(options.imageUrl === undefined ? {} : { imageUrl: options.imageUrl }),
      permissions: options.permissions,
      // Tag and our profile go in at creation: one commit fewer than writing appData afterwards.
      appData: encodeAppData({ tag, profiles }),
    })
    // The local welcome check may have bound it while createGroup was running; it announced it then.
    const announced = core.isAllowed(group.id)
    core.setConsent(group, Consent.Allowed)
    if (!announced) core.emitConversation({ type: "joined", conversationId: group.id, via: "created" })
    if (options.profile) await sendProfileUpdate(group, options.profile)
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
    const group = await this.core.requireGroup(conversationId)
    const tag = readAppData(group.appData).tag
    if (!tag) throw new ConvosClientError("not_a_group", `conversation ${conversationId} has no Convos invite tag`)
    return this.inviteFor(group, tag, {
      ...(group.name ? { name: group.name } : {}),
      ...(group.description ? { description: group.description } : {}),
      ...(options.expiresAt === undefined ? {} : { expiresAt: options.expiresAt }),
    })
  }

  private inviteFor(group: XmtpGroup, tag: string, details: { name?: string; description?: string; imageUrl?: string; expiresAt?: Date }) {
    const core = this.core
    return createInvite(
      { conversationId: group.id, creatorInboxId: core.inboxId, walletKey: core.identity.walletKey, tag, ...details },
      core.options.env,
    )
  }

  /** Adds them, then tells them who is who (a profile snapshot; its failure does not undo the add). */
  async addMembers(conversationId: string, inboxIds: string[]): Promise<void> {
    const group = await this.core.requireGroup(conversationId)
    await group.addMembers(inboxIds)
    await sendProfileSnapshot(group).catch((error: unknown) => this.core.reportError(error, "profile snapshot after an add"))
  }

  async removeMembers(conversationId: string, inboxIds: string[]): Promise<void> {
    await (await this.core.requireGroup(conversationId)).removeMembers(inboxIds)
  }

  /** Asks the group's admins to remove us and stops delivering its messages here. */
  async leave(conversationId: string): Promise<void> {
    const group = await this.core.requireGroup(conversationId)
    await group.requestRemoval()
    this.core.setConsent(group, Consent.Denied)
  }

  /** Whether a member asked this group's admins to remove it (`leave`) since a time; an admin's app then removes it. */
  async askedToLeave(conversationId: string, inboxId: string, since: Date): Promise<boolean> {
    const group = await this.core.requireGroup(conversationId)
    await group.sync()
    const requests = await leaveRequestsSince(group, nsOf(since.getTime()))
    return requests.some((m) => sameId(m.senderInboxId, inboxId))
  }

  async sendText(conversationId: string, text: string, options: { replyTo?: string } = {}): Promise<string> {
    const conversation = await this.core.requireConversation(conversationId)
    if (options.replyTo === undefined) return conversation.sendText(text)
    const original = this.core.xmtp.conversations.getMessageById(options.replyTo)
    return conversation.sendReply({
      reference: options.replyTo,
      ...(original ? { referenceInboxId: original.senderInboxId } : {}),
      content: encodeText(text),
    })
  }

  async react(conversationId: string, messageId: string, emoji: string, action: "added" | "removed" = "added"): Promise<string> {
    const conversation = await this.core.requireConversation(conversationId)
    const original = this.core.xmtp.conversations.getMessageById(messageId)
    return sendReaction(conversation, { reference: messageId, referenceInboxId: original?.senderInboxId ?? "", action, emoji })
  }

  /**
   * Our display name in a group, marked as an agent for Convos apps: a profile update message, and when we may
   * write the group's appData (we are an admin), the appData profile too.
   */
  async setProfile(conversationId: string, profile: Profile): Promise<void> {
    const core = this.core
    const group = await core.requireGroup(conversationId)
    await sendProfileUpdate(group, profile)
    if (group.isAdmin(core.inboxId) || group.isSuperAdmin(core.inboxId)) {
      await group.updateAppData(encodeAppData(upsertProfile(decodeAppData(group.appData), { inboxId: core.inboxId, name: profile.name })))
    }
  }

  async groupInfo(conversationId: string): Promise<GroupInfo> {
    const group = await this.core.requireGroup(conversationId)
    const members = await group.members()
    const policy = addMemberPolicyOf(group)
    const metadata = readAppData(group.appData)
    return {
      conversationId: group.id,
      name: group.name,
      description: group.description,
      imageUrl: group.imageUrl,
      members: members.map((m) => {
        const level = permissionLevelOf(m)
        return { inboxId: m.inboxId, role: level === PermissionLevel.SuperAdmin ? "super_admin" : level === PermissionLevel.Admin ? "admin" : "member" }
      }),
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
   * What a member declared itself in a conversation: its newest profile update there, else its entry in the newest
   * profile snapshot (both are in the local history, so this survives restarts). Undefined when it never said.
   */
  async declaredMemberKind(conversationId: string, inboxId: string): Promise<MemberKind | undefined> {
    const profile = resolveProfiles(await profileHistory(await this.core.requireConversation(conversationId)), [inboxId]).get(inboxId.toLowerCase())
    return profile === undefined ? undefined : (profile.memberKind ?? MemberKind.Unspecified)
  }
}
