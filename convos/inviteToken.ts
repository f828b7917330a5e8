/**
 * The invite's conversation token: 0x01‖nonce12‖ChaCha20-Poly1305(packed conversation id)‖tag16, under a key only
 * the creator can derive (HKDF of its wallet key and inbox id), so only the creator learns which conversation an
 * invite is for. Wire-compatible with convos-ios and `@xmtp/convos-cli`.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto"
import type { Hex } from "viem"

const TOKEN_VERSION = 0x01
const TOKEN_SALT = Buffer.from("ConvosInviteV1", "utf8")

export function walletKeyBytes(walletKey: Hex): Buffer {
  const hex = walletKey.startsWith("0x") ? walletKey.slice(2) : walletKey
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new Error("wallet key must be 32 bytes of hex")
  return Buffer.from(hex, "hex")
}

function tokenKey(walletKey: Hex, creatorInboxId: string): Buffer {
  return Buffer.from(hkdfSync("sha256", walletKeyBytes(walletKey), TOKEN_SALT, `inbox:${creatorInboxId}`, 32))
}

function packConversationId(conversationId: string): Buffer {
  const uuid = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i.exec(conversationId)
  if (uuid) return Buffer.concat([Buffer.from([0x01]), Buffer.from(uuid.slice(1).join(""), "hex")])
  const text = Buffer.from(conversationId, "utf8")
  if (text.length === 0 || text.length > 0xffff) throw new Error("conversation id must be 1..65535 bytes")
  if (text.length <= 255) return Buffer.concat([Buffer.from([0x02, text.length]), text])
  return Buffer.concat([Buffer.from([0x02, 0x00, text.length >> 8, text.length & 0xff]), text])
}

function unpackConversationId(packed: Buffer): string {
  if (packed[0] === 0x01 && packed.length === 17) {
    const hex = packed.subarray(1).toString("hex")
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-")
  }
  if (packed[0] === 0x02 && packed.length >= 2) {
    let length = packed[1] as number
    let off = 2
    if (length === 0 && packed.length >= 4) {
      length = packed.readUInt16BE(2)
      off = 4
    }
    if (length > 0 && off + length === packed.length) return packed.subarray(off).toString("utf8")
  }
  throw new Error("conversation token plaintext has an unknown layout")
}

export function encryptConversationToken(conversationId: string, creatorInboxId: string, walletKey: Hex): Uint8Array {
  const nonce = randomBytes(12)
  const cipher = createCipheriv("chacha20-poly1305", tokenKey(walletKey, creatorInboxId), nonce, { authTagLength: 16 })
  const plaintext = packConversationId(conversationId)
  cipher.setAAD(Buffer.from(creatorInboxId, "utf8"), { plaintextLength: plaintext.length })
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return Buffer.concat([Buffer.from([TOKEN_VERSION]), nonce, ciphertext, cipher.getAuthTag()])
}

/** The conversation id, or `undefined` when the token was not made with this wallet key (or was altered). */
export function decryptConversationToken(token: Uint8Array, creatorInboxId: string, walletKey: Hex): string | undefined {
  if (token.length < 1 + 12 + 16 + 2 || token[0] !== TOKEN_VERSION) return undefined
  const bytes = Buffer.from(token)
  try {
    const decipher = createDecipheriv("chacha20-poly1305", tokenKey(walletKey, creatorInboxId), bytes.subarray(1, 13), {
      authTagLength: 16,
    })
    const ciphertext = bytes.subarray(13, bytes.length - 16)
    decipher.setAAD(Buffer.from(creatorInboxId, "utf8"), { plaintextLength: ciphertext.length })
    decipher.setAuthTag(bytes.subarray(bytes.length - 16))
    const plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()])
    return unpackConversationId(plaintext)
  } catch {
    return undefined
  }
}
