/**
 * Join requests for our invites: they arrive by DM, are decided by the pure `decideJoinRequest` and applied one at
 * a time (a joiner sends the structured request and the plain slug, and both must not add twice). A join through a
 * front door gets a conversation of the joiner's own instead of the door itself.
 */
import type { ContentTypeId } from "../contentTypes.ts"
import { normaliseMessage } from "../events.ts"
import { decideJoinRequest, gatherJoinRequestEvidence, joinRequestFromMessage, type GroupSnapshot, type JoinRequestMessage } from "../joinRequest.ts"
import { encodeAppData, readAppData } from "../metadata.ts"
import { sendProfileSnapshot, sendProfileUpdate } from "./conversations.ts"
import { sameId, type ClientCore } from "./core.ts"
import { Consent, createGroup, Group, listGroups, newestMessages, type XmtpDm } from "./sdk.ts"
import type { FrontDoorOptions } from "./types.ts"

/** How many of a DM's newest messages the catch-up read looks at, like the Convos CLI's batch mode. */
const MISSED_REQUESTS_PER_DM = 10

export class JoinRequests {
  private queue: Promise<void> = Promise.resolve()

  constructor(private readonly core: ClientCore) {}

  /**
   * Join requests the streams have not delivered (the stream only delivers new messages, and can lose a new DM's
   * first message): the last few messages of every DM not denied. Re-deciding one already applied is harmless
   * (already_member).
   */
  async processMissed(): Promise<void> {
    const core = this.core
    await core.xmtp.conversations.sync()
    for (const dm of core.xmtp.conversations.listDms()) {
      if (core.consentOf(dm) === Consent.Denied) continue
      await dm.sync()
      for (const message of await newestMessages(dm, MISSED_REQUESTS_PER_DM)) {
        if (core.isSelf(message.senderInboxId)) continue
        const request = joinRequestFromMessage({ senderInboxId: message.senderInboxId, contentType: message.contentType, content: message.content })
        // Only join requests are taken here (and so marked seen): other DM messages stay with the streams and sweeps.
        if (request && (request.structured || normaliseMessage({ ...message, contentType: message.contentType as ContentTypeId }, true).kind === "join_request"))
          if (core.seenMessages.firstSeen(message.id)) this.enqueue(request, dm)
      }
    }
  }

  /** One at a time, in arrival order. */
  enqueue(request: JoinRequestMessage, dm: XmtpDm): void {
    this.queue = this.queue.then(() => this.handle(request, dm)).catch((error: unknown) => this.core.reportError(error, "join request"))
  }

  /** Closing: resolves when the request being applied (if any) is done. */
  drained(): Promise<void> {
    return this.queue
  }

  private async handle(request: JoinRequestMessage, dm: XmtpDm): Promise<void> {
    const core = this.core
    if (core.closed) return
    const evidence = await gatherJoinRequestEvidence(request, {
      selfInboxId: core.inboxId,
      walletKey: core.identity.walletKey,
      lookupGroup: (conversationId) => this.groupSnapshot(conversationId),
    })
    const verdict = decideJoinRequest(evidence)
    const door = core.options.frontDoor
    if (verdict.kind === "accept" && door?.isDoor(verdict.conversationId)) {
      // The structured request and its plain-text twin both arrive: one private conversation per joiner.
      if (!(await this.privateConversationOf(verdict.invite.tag, verdict.conversationId, verdict.joinerInboxId))) {
        const conversationId = await this.openPrivateConversation(door, verdict.invite.tag, verdict.joinerInboxId)
        core.emitConversation({ type: "front_door", conversationId, doorConversationId: verdict.conversationId, joinerInboxId: verdict.joinerInboxId })
      }
      core.setConsent(dm, Consent.Allowed)
    } else if (verdict.kind === "accept") {
      const group = await core.requireGroup(verdict.conversationId)
      await group.addMembers([verdict.joinerInboxId])
      core.setConsent(dm, Consent.Allowed)
      await sendProfileSnapshot(group).catch((error: unknown) => core.reportError(error, "profile snapshot after an add"))
    } else if (verdict.kind === "deny") {
      core.setConsent(dm, Consent.Denied)
    }
    core.emit(core.joinRequestHandlers, { senderInboxId: request.senderInboxId, dmConversationId: dm.id, verdict }, "onJoinRequest handler")
  }

  /** The joiner's private conversation behind this door, if it is still in one. */
  private async privateConversationOf(tag: string, doorConversationId: string, joinerInboxId: string): Promise<string | undefined> {
    for (const group of listGroups(this.core.xmtp)) {
      if (group.id === doorConversationId || readAppData(group.appData).tag !== tag || !group.isActive) continue
      if ((await group.members()).some((m) => sameId(m.inboxId, joinerInboxId))) return group.id
    }
    return undefined
  }

  private async openPrivateConversation(door: FrontDoorOptions, tag: string, joinerInboxId: string): Promise<string> {
    const core = this.core
    const group = await createGroup(core.xmtp, [joinerInboxId], {
      name: door.profile.name,
      ...(door.description === undefined ? {} : { description: door.description }),
      permissions: "all_members",
      appData: encodeAppData({ tag, profiles: [{ inboxId: core.inboxId, name: door.profile.name }] }),
    })
    core.setConsent(group, Consent.Allowed)
    await sendProfileUpdate(group, door.profile)
    return group.id
  }

  private async groupSnapshot(conversationId: string): Promise<GroupSnapshot | undefined> {
    const conversation = await this.core.xmtp.conversations.getConversationById(conversationId)
    if (!(conversation instanceof Group) || !conversation.isActive) return undefined
    const members = await conversation.members()
    return { inviteTag: readAppData(conversation.appData).tag, memberInboxIds: members.map((m) => m.inboxId) }
  }
}
