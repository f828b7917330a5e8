import { generatePrivateKey } from "viem/accounts"
import { describe, expect, it } from "vitest"
import { ContentTypeJoinRequest, ContentTypeProfileUpdate, ContentTypeTypingIndicator } from "./contentTypes.ts"
import { normaliseMessage, RecentIds, type MessageView } from "./events.ts"
import { createInvite } from "./invite.ts"

const xmtp = (typeId: string, versionMajor = 1) => ({ authorityId: "xmtp.org", typeId, versionMajor, versionMinor: 0 })
const view = (contentType: MessageView["contentType"], content: unknown): MessageView => ({
  id: "m1",
  conversationId: "c1",
  senderInboxId: "s1",
  sentAt: new Date(0),
  contentType,
  content,
})

describe("normaliseMessage", () => {
  it("maps text, replies and reactions to kinds with their text and reference", () => {
    expect(normaliseMessage(view(xmtp("text"), "hi"), false)).toMatchObject({ kind: "text", text: "hi", isDm: false, contentType: "xmtp.org/text:1.0" })
    const reply = normaliseMessage(view(xmtp("reply"), { referenceId: "m0", content: "yes", contentType: xmtp("text"), inReplyTo: null }), false)
    expect(reply).toMatchObject({ kind: "reply", text: "yes", referenceMessageId: "m0" })
    const reaction = normaliseMessage(view(xmtp("reaction", 2), { reference: "m0", referenceInboxId: "", action: 2, content: "🔥", schema: 1 }), true)
    expect(reaction).toMatchObject({ kind: "reaction", reaction: { emoji: "🔥", action: "removed" }, referenceMessageId: "m0", isDm: true })
  })

  it("reports membership changes from group_updated", () => {
    const event = normaliseMessage(
      view(xmtp("group_updated"), {
        initiatedByInboxId: "admin",
        addedInboxes: [{ inboxId: "a" }],
        removedInboxes: [{ inboxId: "r" }],
        leftInboxes: [],
        metadataFieldChanges: [{ fieldName: "group_name", oldValue: "x", newValue: "y" }],
      }),
      false,
    )
    expect(event.groupUpdate).toEqual({
      initiatedByInboxId: "admin",
      addedInboxIds: ["a"],
      removedInboxIds: ["r"],
      leftInboxIds: [],
      metadataChanges: [{ field: "group_name", oldValue: "x", newValue: "y" }],
    })
  })

  it("recognises a plain-text invite slug in a DM as a join request, but not in a group", async () => {
    const { slug } = await createInvite({ conversationId: "ab".repeat(16), creatorInboxId: "cd".repeat(32), walletKey: generatePrivateKey(), tag: "t" }, "dev")
    expect(normaliseMessage(view(xmtp("text"), slug), true).kind).toBe("join_request")
    expect(normaliseMessage(view(xmtp("text"), slug), false).kind).toBe("text")
    expect(normaliseMessage(view(ContentTypeJoinRequest, { inviteSlug: slug }), true)).toMatchObject({ kind: "join_request", text: slug })
  })

  it("maps Convos and attachment types, and keeps unknown ones with their fallback", () => {
    expect(normaliseMessage(view(ContentTypeProfileUpdate, { name: "Bot", memberKind: 1 }), false)).toMatchObject({ kind: "profile_update", profile: { name: "Bot" } })
    expect(normaliseMessage(view(ContentTypeTypingIndicator, { isTyping: true }), false)).toMatchObject({ kind: "typing", isTyping: true })
    expect(normaliseMessage(view(xmtp("remoteStaticAttachment"), { url: "https://x/y", filename: "a.png", contentLength: 3 }), false)).toMatchObject({
      kind: "remote_attachment",
      attachment: { url: "https://x/y", filename: "a.png", contentLength: 3 },
    })
    const unknown = normaliseMessage({ ...view({ authorityId: "acme", typeId: "poll", versionMajor: 3, versionMinor: 1 }, undefined), fallback: "a poll" }, false)
    expect(unknown).toMatchObject({ kind: "unknown", contentType: "acme/poll:3.1", fallback: "a poll" })
  })
})

describe("RecentIds", () => {
  it("reports each id once, and forgets the oldest beyond its capacity", () => {
    const ids = new RecentIds(2)
    expect([ids.firstSeen("a"), ids.firstSeen("a"), ids.firstSeen("b"), ids.firstSeen("c")]).toEqual([true, false, true, true])
    expect(ids.firstSeen("b")).toBe(false)
    expect(ids.firstSeen("a")).toBe(true) // evicted by "c"
  })
})
