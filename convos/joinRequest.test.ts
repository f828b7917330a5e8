import { randomBytes } from "node:crypto"
import { generatePrivateKey } from "viem/accounts"
import { describe, expect, it } from "vitest"
import { ContentTypeJoinRequest } from "./contentTypes.ts"
import { createInvite, inviteToSlug, parseInvite } from "./invite.ts"
import {
  decideJoinRequest,
  gatherJoinRequestEvidence,
  joinRequestFromMessage,
  type GroupSnapshot,
  type JoinRequestMessage,
} from "./joinRequest.ts"
import { ProtoMessage, ProtoWriter } from "./protobuf.ts"

const selfKey = generatePrivateKey()
const selfInboxId = randomBytes(32).toString("hex")
const joiner = randomBytes(32).toString("hex")
const conversationId = randomBytes(16).toString("hex")
const tag = "CurrentTag"

async function verdictFor(slug: string, group: GroupSnapshot | null = { inviteTag: tag, memberInboxIds: [selfInboxId] }, request: Partial<JoinRequestMessage> = {}) {
  const evidence = await gatherJoinRequestEvidence(
    { senderInboxId: joiner, structured: true, slug, ...request },
    { selfInboxId, walletKey: selfKey, lookupGroup: async (id) => (id === conversationId && group ? group : undefined) },
  )
  return decideJoinRequest(evidence)
}

const ourInvite = (extra: { expiresAt?: Date; tag?: string } = {}) =>
  createInvite({ conversationId, creatorInboxId: selfInboxId, walletKey: selfKey, tag, ...extra }, "dev").then((i) => i.slug)

describe("join request verdict", () => {
  it("never denies a plain text: someone else's invite pasted into the DM is not an attack", async () => {
    const other = await createInvite({ conversationId, creatorInboxId: joiner, walletKey: generatePrivateKey(), tag }, "dev")
    expect(await verdictFor(other.url, undefined, { structured: false })).toEqual({ kind: "ignore", reason: "not_our_invite" })
    expect(await verdictFor(other.slug, undefined, { structured: false })).toEqual({ kind: "ignore", reason: "not_our_invite" })
    // Claims to be ours but is not signed by us: still only ignored when it came as plain text.
    const forged = await createInvite({ conversationId, creatorInboxId: selfInboxId, walletKey: generatePrivateKey(), tag }, "dev")
    expect(await verdictFor(forged.slug, undefined, { structured: false })).toEqual({ kind: "ignore", reason: "not_our_invite" })
    // The structured request with the same forged slug is denied.
    expect(await verdictFor(forged.slug)).toEqual({ kind: "deny", reason: "signature_mismatch" })
  })

  it("accepts our own invite sent as the legacy plain-text slug", async () => {
    expect(await verdictFor(await ourInvite(), undefined, { structured: false })).toMatchObject({ kind: "accept" })
  })

  it("accepts a valid invite for a group we hold, naming the conversation and the joiner", async () => {
    const verdict = await verdictFor(await ourInvite())
    expect(verdict).toMatchObject({ kind: "accept", conversationId, joinerInboxId: joiner })
  })

  it("denies a forged invite: claims our inbox but is signed by another key", async () => {
    const forged = await createInvite({ conversationId, creatorInboxId: selfInboxId, walletKey: generatePrivateKey(), tag }, "dev")
    expect(await verdictFor(forged.slug)).toEqual({ kind: "deny", reason: "signature_mismatch" })
  })

  it("denies a tampered invite: our signature over a payload changed afterwards", async () => {
    const invite = parseInvite(await ourInvite())
    const fields = new ProtoMessage(invite.payloadBytes).fields
    const payload = new ProtoWriter().raw(fields.filter((f) => f.field !== 4).map((f) => f.raw)).string(4, "renamed").finish()
    expect(await verdictFor(inviteToSlug({ payloadBytes: payload, signature: invite.signature }))).toEqual({ kind: "deny", reason: "signature_mismatch" })
  })

  it("denies a genuine invite of another creator", async () => {
    const other = await createInvite({ conversationId, creatorInboxId: randomBytes(32).toString("hex"), walletKey: generatePrivateKey(), tag }, "dev")
    expect(await verdictFor(other.slug)).toEqual({ kind: "deny", reason: "wrong_creator" })
  })

  it("denies a structured join request whose slug does not parse", async () => {
    expect(await verdictFor("garbage!!")).toEqual({ kind: "deny", reason: "malformed_invite" })
  })

  it("denies a signature from which no key can be recovered", async () => {
    const invite = parseInvite(await ourInvite())
    const signature = Uint8Array.from(invite.signature)
    signature[64] = 7
    expect(await verdictFor(inviteToSlug({ payloadBytes: invite.payloadBytes, signature }))).toEqual({ kind: "deny", reason: "unverifiable_signature" })
  })

  it("ignores an expired invite (honest, so the DM is not blocked)", async () => {
    expect(await verdictFor(await ourInvite({ expiresAt: new Date(Date.now() - 1000) }))).toEqual({ kind: "ignore", reason: "invite_expired" })
  })

  it("ignores an invite whose tag was rotated by a lock", async () => {
    expect(await verdictFor(await ourInvite(), { inviteTag: "RotatedTag", memberInboxIds: [selfInboxId] })).toEqual({ kind: "ignore", reason: "invite_revoked" })
  })

  it("ignores a joiner who is already a member", async () => {
    expect(await verdictFor(await ourInvite(), { inviteTag: tag, memberInboxIds: [selfInboxId, joiner.toUpperCase()] })).toEqual({ kind: "ignore", reason: "already_member" })
  })

  it("ignores an invite for a conversation we no longer hold", async () => {
    expect(await verdictFor(await ourInvite(), null)).toEqual({ kind: "ignore", reason: "conversation_not_found" })
  })

  it("ignores plain DM text that is not an invite, and our own messages", async () => {
    expect(await verdictFor("hi, can you help me?", null, { structured: false })).toEqual({ kind: "ignore", reason: "not_an_invite" })
    expect(await verdictFor(await ourInvite(), null, { senderInboxId: selfInboxId })).toEqual({ kind: "ignore", reason: "own_message" })
  })

  it("reads the slug from a join_request content or a plain text, and nothing else", () => {
    expect(joinRequestFromMessage({ senderInboxId: joiner, contentType: ContentTypeJoinRequest, content: { inviteSlug: "abc" } })).toEqual({
      senderInboxId: joiner,
      structured: true,
      slug: "abc",
    })
    const text = { authorityId: "xmtp.org", typeId: "text", versionMajor: 1, versionMinor: 0 }
    expect(joinRequestFromMessage({ senderInboxId: joiner, contentType: text, content: "abc" })?.structured).toBe(false)
    const reaction = { ...text, typeId: "reaction" }
    expect(joinRequestFromMessage({ senderInboxId: joiner, contentType: reaction, content: {} })).toBeUndefined()
  })
})
