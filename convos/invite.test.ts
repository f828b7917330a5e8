import { randomBytes } from "node:crypto"
import { deflateRawSync, deflateSync } from "node:zlib"
import { generatePrivateKey } from "viem/accounts"
import { describe, expect, it } from "vitest"
import {
  createInvite,
  decryptConversationToken,
  extractInviteSlug,
  InviteParseError,
  inviteToSlug,
  isInviteExpired,
  parseInvite,
  recoverInviteSigner,
  tryParseInvite,
  verifyInviteSigner,
  walletPublicKey,
} from "./invite.ts"
import { ProtoMessage, ProtoWriter } from "./protobuf.ts"

const walletKey = generatePrivateKey()
const creatorInboxId = "a1".repeat(32)
const conversationId = "0123456789abcdef0123456789abcdef"

function reasonOf(input: string): string {
  const result = tryParseInvite(input)
  if (result.ok) throw new Error("expected a parse error")
  return result.error.reason
}

/** Rebuilds a slug with the given signed-invite bytes framed as the compressed form. */
function compressedSlug(signedBytes: Uint8Array, deflate: (b: Uint8Array) => Buffer): string {
  const header = Buffer.alloc(5)
  header[0] = 0x1f
  header.writeUInt32BE(signedBytes.length, 1)
  return Buffer.concat([header, deflate(signedBytes)]).toString("base64url")
}

describe("createInvite / parseInvite", () => {
  it("round-trips every payload field and keeps the conversation id readable only with the creator's key", async () => {
    const expiresAt = new Date("2030-01-02T03:04:05Z")
    const { slug, url } = await createInvite(
      { conversationId, creatorInboxId, walletKey, tag: "AbCdEf1234", name: "Trip", description: "Plans", emoji: "🦊", expiresAt },
      "dev",
    )
    expect(url).toBe(`https://dev.convos.org/v2?i=${encodeURIComponent(slug)}`)
    const invite = parseInvite(url)
    expect(invite).toMatchObject({
      tag: "AbCdEf1234",
      creatorInboxId,
      name: "Trip",
      description: "Plans",
      emoji: "🦊",
      expiresAt,
      expiresAfterUse: false,
    })
    expect(decryptConversationToken(invite.conversationToken, creatorInboxId, walletKey)).toBe(conversationId)
    expect(decryptConversationToken(invite.conversationToken, creatorInboxId, generatePrivateKey())).toBeUndefined()
    expect(await verifyInviteSigner(invite, walletKey)).toBe(true)
    expect(await verifyInviteSigner(invite, generatePrivateKey())).toBe(false)
    expect(await recoverInviteSigner(invite)).toBe(walletPublicKey(walletKey))
    expect(inviteToSlug(invite)).toBe(slug)
  })

  it("uses the production host only for production", async () => {
    const input = { conversationId, creatorInboxId, walletKey, tag: "t1" }
    expect((await createInvite(input, "production")).url).toMatch(/^https:\/\/popup\.convos\.org\/v2\?i=/)
    expect((await createInvite(input, "local")).url).toMatch(/^https:\/\/dev\.convos\.org\/v2\?i=/)
  })

  it("accepts every URL form: raw slug, ?i=, legacy ?code=, convos://join/, convos.app/join/", async () => {
    const { slug } = await createInvite({ conversationId, creatorInboxId, walletKey, tag: "tag123" }, "dev")
    const forms = [
      slug,
      `  ${slug}\n`,
      `https://dev.convos.org/v2?i=${encodeURIComponent(slug)}`,
      `https://popup.convos.org/v2?i=${slug}`,
      `https://convos.org/join?code=${slug}`,
      `convos://join/${slug}`,
      `https://convos.app/join/${slug}`,
    ]
    for (const form of forms) expect(parseInvite(form).slug, form).toBe(slug)
  })

  it("ignores * separators anywhere and inserts them every 300 chars in long slugs", async () => {
    const { slug } = await createInvite(
      { conversationId, creatorInboxId, walletKey, tag: "tag123", name: "x".repeat(40), imageUrl: `https://e.x/${randomBytes(200).toString("base64url")}` },
      "dev",
    )
    expect(slug).toContain("*")
    expect(slug.split("*").slice(0, -1).every((part) => part.length === 300)).toBe(true)
    const bare = slug.replace(/\*/g, "")
    expect(parseInvite(bare).slug).toBe(bare)
    const scattered = bare.slice(0, 7) + "*" + bare.slice(7, 90) + "**" + bare.slice(90)
    expect(parseInvite(scattered).slug).toBe(bare)
  })

  it("reads compressed payloads framed as raw DEFLATE (iOS) and as zlib (CLI)", async () => {
    const long = "a long description that repeats, ".repeat(20)
    const { slug } = await createInvite({ conversationId, creatorInboxId, walletKey, tag: "tagZ", description: long }, "dev")
    const ours = Buffer.from(slug.replace(/\*/g, ""), "base64url")
    expect(ours[0]).toBe(0x1f) // our writer compressed it
    const signed = new ProtoWriter()
      .bytes(1, parseInvite(slug).payloadBytes)
      .bytes(2, parseInvite(slug).signature)
      .finish()
    for (const deflate of [deflateRawSync, deflateSync]) {
      const invite = parseInvite(compressedSlug(signed, deflate))
      expect(invite.description).toBe(long)
      expect(await verifyInviteSigner(invite, walletKey)).toBe(true)
    }
  })

  it("detects tampering: a changed payload still parses but no longer verifies", async () => {
    const { slug } = await createInvite({ conversationId, creatorInboxId, walletKey, tag: "orig" }, "dev")
    const invite = parseInvite(slug)
    const payload = new ProtoMessage(invite.payloadBytes)
    const tampered = new ProtoWriter()
      .raw(payload.fields.filter((f) => f.field !== 3).map((f) => f.raw))
      .string(3, "forged")
      .finish()
    const tamperedInvite = parseInvite(inviteToSlug({ payloadBytes: tampered, signature: invite.signature }))
    expect(tamperedInvite.tag).toBe("forged")
    expect(await verifyInviteSigner(tamperedInvite, walletKey)).toBe(false)
  })

  it("reports expiry of the invite and of the conversation", async () => {
    const past = new Date(Date.now() - 60_000)
    const future = new Date(Date.now() + 60_000)
    const now = new Date()
    expect(isInviteExpired({ expiresAt: past }, now)).toBe(true)
    expect(isInviteExpired({ conversationExpiresAt: past }, now)).toBe(true)
    expect(isInviteExpired({ expiresAt: future, conversationExpiresAt: future }, now)).toBe(false)
    expect(isInviteExpired({}, now)).toBe(false)
    const { slug } = await createInvite({ conversationId, creatorInboxId, walletKey, tag: "t", expiresAt: past }, "dev")
    expect(isInviteExpired(parseInvite(slug), now)).toBe(true)
  })

  it("rejects bad input with one typed error carrying a reason", () => {
    const signedWith = (payload: Uint8Array, signature: Uint8Array) =>
      Buffer.from(new ProtoWriter().bytes(1, payload).bytes(2, signature).finish()).toString("base64url")
    const validPayload = new ProtoWriter().bytes(1, new Uint8Array(40)).bytes(2, new Uint8Array(32)).string(3, "t").finish()
    expect(reasonOf("")).toBe("empty")
    expect(reasonOf("   ")).toBe("empty")
    expect(reasonOf("a".repeat(20_000))).toBe("too_long")
    expect(reasonOf("hello there, how are you?")).toBe("unrecognised_url")
    expect(reasonOf("https://example.com/nothing")).toBe("unrecognised_url")
    expect(reasonOf("abcde")).toBe("invalid_encoding")
    expect(reasonOf(Buffer.from([0x1f, 0, 0, 0, 9, 1, 2, 3]).toString("base64url"))).toBe("decompression_failed")
    expect(reasonOf(Buffer.from([0x0a, 0x7f, 1]).toString("base64url"))).toBe("malformed_protobuf")
    expect(reasonOf(signedWith(validPayload, new Uint8Array(64)))).toBe("invalid_signature_length")
    const noTag = new ProtoWriter().bytes(1, new Uint8Array(40)).bytes(2, new Uint8Array(32)).finish()
    expect(reasonOf(signedWith(noTag, new Uint8Array(65)))).toBe("missing_field")
    const farFuture = new ProtoWriter().raw([validPayload]).sfixed64(8, 10n ** 15n).finish()
    expect(reasonOf(signedWith(farFuture, new Uint8Array(65)))).toBe("timestamp_out_of_range")
    expect(() => parseInvite("!!")).toThrow(InviteParseError)
  })

  it("extracts nothing from URLs without an invite", () => {
    expect(extractInviteSlug("https://convos.org/about")).toBeUndefined()
    expect(extractInviteSlug("convos://settings")).toBeUndefined()
  })
})
