/**
 * Wire compatibility with the Convos CLI's own invite utilities (the reference implementation shared with iOS).
 */
import * as cli from "@xmtp/convos-cli/utils/invite"
import { randomBytes } from "node:crypto"
import { deflateRawSync } from "node:zlib"
import { generatePrivateKey } from "viem/accounts"
import { describe, expect, it } from "vitest"
import { createInvite, decryptConversationToken, parseInvite, verifyInviteSigner } from "./invite.ts"
import { ProtoWriter } from "./protobuf.ts"

const walletKey = generatePrivateKey()
// Random like a real inbox id: a repetitive one would make the payload compressible (see the last test).
const creatorInboxId = randomBytes(32).toString("hex")
const conversationId = "fedcba9876543210fedcba9876543210"

describe("invite interop with @xmtp/convos-cli", () => {
  it("our invites parse, verify and decrypt with the CLI's utilities", async () => {
    const expiresAt = new Date("2031-05-06T07:08:09Z")
    const { slug, url } = await createInvite(
      { conversationId, creatorInboxId, walletKey, tag: "Tag0123456", name: "Ours", description: "d", emoji: "🐙", expiresAt },
      "production",
    )
    for (const form of [slug, url]) {
      const theirs = cli.parseInvite(form)
      expect(theirs).toMatchObject({ tag: "Tag0123456", creatorInboxId, name: "Ours", description: "d", emoji: "🐙", expiresAt })
      expect(await cli.verifyInvite(theirs)).toBe(true)
      expect(await cli.verifyInviteSignature(theirs, walletKey)).toBe(true)
      expect(cli.decryptConversationToken(theirs.conversationToken, creatorInboxId, Buffer.from(walletKey.slice(2), "hex"))).toBe(
        conversationId,
      )
      expect(cli.inviteToSlug(theirs)).toBe(slug)
    }
  })

  it("the CLI's invites (plain and zlib-compressed) parse, verify and decrypt with ours", async () => {
    for (const description of [undefined, "a description long enough to be compressed by the CLI writer ".repeat(6)]) {
      const slug = await cli.createInviteSlug(conversationId, creatorInboxId, "CliTag9876", walletKey, {
        name: "Theirs",
        ...(description ? { description } : {}),
        expiresAfterUse: true,
      })
      const ours = parseInvite(`https://dev.convos.org/v2?i=${encodeURIComponent(slug)}`)
      expect(ours).toMatchObject({ tag: "CliTag9876", creatorInboxId, name: "Theirs", expiresAfterUse: true })
      expect(ours.description).toBe(description)
      expect(await verifyInviteSigner(ours, walletKey)).toBe(true)
      expect(decryptConversationToken(ours.conversationToken, creatorInboxId, walletKey)).toBe(conversationId)
    }
  })

  it("a raw-deflate compressed slug as iOS writes it parses with ours (the CLI 0.10.15 parser rejects it)", async () => {
    const cliSlug = await cli.createInviteSlug(conversationId, creatorInboxId, "IosTag1234", walletKey, {
      description: "written the way the iOS app compresses it ".repeat(5),
    })
    const parsed = cli.parseInvite(cliSlug)
    const signed = new ProtoWriter().bytes(1, parsed.payloadBytes).bytes(2, parsed.signature).finish()
    const header = Buffer.alloc(5)
    header[0] = 0x1f
    header.writeUInt32BE(signed.length, 1)
    const iosSlug = Buffer.concat([header, deflateRawSync(signed)]).toString("base64url")
    expect(() => cli.parseInvite(iosSlug)).toThrow()
    const ours = parseInvite(iosSlug)
    expect(ours.tag).toBe("IosTag1234")
    expect(await verifyInviteSigner(ours, walletKey)).toBe(true)
  })
})
