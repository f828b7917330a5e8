/**
 * Convos group metadata, stored in the XMTP group's `appData` (≤ 8 KiB):
 * base64url( maybeCompress( ConversationCustomMetadata ) ) with
 * ConversationCustomMetadata{tag=1, repeated ConversationProfile profiles=2, sfixed64 expiresAtUnix=3,
 * bytes imageEncryptionKey=4, EncryptedImageRef encryptedGroupImage=5, string emoji=6},
 * ConversationProfile{bytes inboxId=1, name=2, image=3, EncryptedImageRef encryptedImage=4},
 * EncryptedImageRef{url=1, bytes salt=2, bytes nonce=3}.
 *
 * The invite `tag` lives here: rotating it revokes every outstanding invite. Fields this module does not know are
 * carried through a read-modify-write unchanged, so newer app versions' data is never clobbered.
 */
import { randomInt } from "node:crypto"
import { deflateRawSync, inflateRawSync, inflateSync } from "node:zlib"
import { ProtoMessage, ProtoWriter } from "./protobuf.ts"

export const APP_DATA_LIMIT_BYTES = 8 * 1024
const COMPRESSION_MARKER = 0x1f
const MAX_DECOMPRESSED_BYTES = 1024 * 1024

export interface EncryptedImageRef {
  url: string
  salt: Uint8Array
  nonce: Uint8Array
}

export interface ConversationProfile {
  /** Lower-case hex inbox id. */
  inboxId: string
  name?: string
  image?: string
  encryptedImage?: EncryptedImageRef
}

export interface ConversationMetadata {
  tag: string
  profiles: ConversationProfile[]
  expiresAtUnix?: number
  imageEncryptionKey?: Uint8Array
  encryptedGroupImage?: EncryptedImageRef
  emoji?: string
  /** Raw encodings of fields unknown to this version, re-emitted on write. */
  unknownFields?: Uint8Array[]
}

export type AppDataErrorReason = "undecodable" | "too_large"

export class AppDataError extends Error {
  readonly _tag = "AppDataError"
  constructor(
    readonly reason: AppDataErrorReason,
    detail: string,
  ) {
    super(`Convos appData ${reason}: ${detail}`)
    this.name = "AppDataError"
  }
}

const TAG_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

/** A fresh 10-character invite tag (uniform over [A-Za-z0-9]). */
export function newInviteTag(): string {
  return Array.from({ length: 10 }, () => TAG_CHARS[randomInt(TAG_CHARS.length)]).join("")
}

function decodeImageRef(bytes: Uint8Array | undefined): EncryptedImageRef | undefined {
  if (!bytes) return undefined
  const message = new ProtoMessage(bytes)
  const url = message.string(1)
  if (!url) return undefined
  return { url, salt: message.bytes(2) ?? new Uint8Array(), nonce: message.bytes(3) ?? new Uint8Array() }
}

function encodeImageRef(ref: EncryptedImageRef | undefined): ProtoWriter | undefined {
  return ref && new ProtoWriter().string(1, ref.url).bytes(2, ref.salt).bytes(3, ref.nonce)
}

function decompress(data: Buffer): Buffer {
  if (data[0] !== COMPRESSION_MARKER) return data
  const body = data.subarray(5)
  const options = { maxOutputLength: MAX_DECOMPRESSED_BYTES }
  try {
    return inflateRawSync(body, options)
  } catch {
    return inflateSync(body, options) // blobs from older CLI versions are zlib-wrapped
  }
}

/** Strict decode, for read-modify-write: undecodable appData throws instead of reading as empty. */
export function decodeAppData(appData: string): ConversationMetadata {
  if (appData === "") return { tag: "", profiles: [] }
  try {
    if (appData.startsWith("{")) {
      // Early Convos builds stored JSON.
      const legacy = JSON.parse(appData) as { tag?: unknown; expiresAtUnix?: unknown }
      const metadata: ConversationMetadata = { tag: typeof legacy.tag === "string" ? legacy.tag : "", profiles: [] }
      if (typeof legacy.expiresAtUnix === "number") metadata.expiresAtUnix = legacy.expiresAtUnix
      return metadata
    }
    if (!/^[A-Za-z0-9_-]+$/.test(appData)) throw new Error("not base64url")
    const message = new ProtoMessage(decompress(Buffer.from(appData, "base64url")))
    const metadata: ConversationMetadata = {
      tag: message.string(1) ?? "",
      profiles: message.repeatedBytes(2).map((bytes) => {
        const p = new ProtoMessage(bytes)
        const profile: ConversationProfile = { inboxId: Buffer.from(p.bytes(1) ?? new Uint8Array()).toString("hex") }
        const name = p.string(2)
        const image = p.string(3)
        const encryptedImage = decodeImageRef(p.bytes(4))
        if (name) profile.name = name
        if (image) profile.image = image
        if (encryptedImage) profile.encryptedImage = encryptedImage
        return profile
      }),
    }
    const expires = message.sfixed64(3)
    // 0 is the protobuf default, never a real expiry (writing it back would make iOS hide the conversation).
    if (expires !== undefined && expires !== 0n) metadata.expiresAtUnix = Number(expires)
    const imageKey = message.bytes(4)
    if (imageKey && imageKey.length > 0) metadata.imageEncryptionKey = Uint8Array.from(imageKey)
    const groupImage = decodeImageRef(message.bytes(5))
    if (groupImage) metadata.encryptedGroupImage = groupImage
    const emoji = message.string(6)
    if (emoji) metadata.emoji = emoji
    const unknown = message.unknown(new Set([1, 2, 3, 4, 5, 6]))
    if (unknown.length > 0) metadata.unknownFields = unknown.map((raw) => Uint8Array.from(raw))
    return metadata
  } catch (error) {
    throw new AppDataError("undecodable", error instanceof Error ? error.message : String(error))
  }
}

/** Lenient decode, for display: anything undecodable reads as empty metadata. */
export function readAppData(appData: string): ConversationMetadata {
  try {
    return decodeAppData(appData)
  } catch {
    return { tag: "", profiles: [] }
  }
}

export function encodeAppData(metadata: ConversationMetadata): string {
  const writer = new ProtoWriter().string(1, metadata.tag)
  for (const profile of metadata.profiles) {
    writer.message(
      2,
      new ProtoWriter()
        .bytes(1, Buffer.from(profile.inboxId, "hex"))
        .string(2, profile.name)
        .string(3, profile.image)
        .message(4, encodeImageRef(profile.encryptedImage)),
    )
  }
  writer
    .sfixed64(3, metadata.expiresAtUnix === undefined ? undefined : BigInt(metadata.expiresAtUnix))
    .bytes(4, metadata.imageEncryptionKey)
    .message(5, encodeImageRef(metadata.encryptedGroupImage))
    .string(6, metadata.emoji)
    .raw(metadata.unknownFields ?? [])
  let bytes = writer.finish()
  if (bytes.length > 100) {
    const compressed = deflateRawSync(bytes)
    if (compressed.length + 5 < bytes.length) {
      const header = Buffer.alloc(5)
      header[0] = COMPRESSION_MARKER
      header.writeUInt32BE(bytes.length, 1)
      bytes = Buffer.concat([header, compressed])
    }
  }
  const encoded = Buffer.from(bytes).toString("base64url")
  if (encoded.length > APP_DATA_LIMIT_BYTES)
    throw new AppDataError("too_large", `${encoded.length} bytes exceeds the ${APP_DATA_LIMIT_BYTES} byte limit`)
  return encoded
}

export function upsertProfile(metadata: ConversationMetadata, profile: ConversationProfile): ConversationMetadata {
  const inboxId = profile.inboxId.toLowerCase()
  const index = metadata.profiles.findIndex((p) => p.inboxId.toLowerCase() === inboxId)
  const profiles = [...metadata.profiles]
  if (index >= 0) profiles[index] = { ...profiles[index], ...profile, inboxId }
  else profiles.push({ ...profile, inboxId })
  return { ...metadata, profiles }
}

/** The same metadata with a new invite tag: every invite issued under the old tag stops working. */
export function rotateInviteTag(metadata: ConversationMetadata, newTag: string = newInviteTag()): ConversationMetadata {
  return { ...metadata, tag: newTag }
}
