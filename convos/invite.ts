/**
 * Convos invites (ADR 001 of Convos, wire-compatible with convos-ios and `@xmtp/convos-cli`).
 *
 * slug = base64url( maybeCompress( SignedInvite{payload=1, signature=2} ) ) with `*` every 300 chars,
 * payload = InvitePayload{conversationToken=1, creatorInboxId=2 (raw bytes), tag=3, name=4, description=5,
 * imageURL=6, conversationExpiresAtUnix=7, expiresAtUnix=8, expiresAfterUse=9, emoji=10},
 * signature = secp256k1 over SHA-256(payload), 65 bytes r‖s‖recoveryId, by the creator's wallet key,
 * conversationToken = 0x01‖nonce12‖ChaCha20-Poly1305(packed conversation id)‖tag16 under a key only the creator
 * can derive (HKDF of its wallet key), so only the creator learns which conversation an invite is for (inviteToken.ts).
 *
 * Parsing accepts every URL form seen in the wild and both compression framings (zlib from the CLI, raw DEFLATE
 * from iOS/Android). Any malformed input ends in `InviteParseError` with a reason, never another exception.
 */
import { createECDH, createHash, createPublicKey, verify, type KeyObject } from "node:crypto"
import { deflateRawSync, inflateRawSync, inflateSync } from "node:zlib"
import { bytesToHex, recoverPublicKey, type Hex } from "viem"
import { sign } from "viem/accounts"
import { encryptConversationToken, walletKeyBytes } from "./inviteToken.ts"
import { ProtoMessage, ProtoWriter } from "./protobuf.ts"

export { decryptConversationToken, encryptConversationToken } from "./inviteToken.ts"

export type ConvosEnv = "dev" | "production" | "local"

export type InviteParseReason =
  | "empty"
  | "too_long"
  | "unrecognised_url"
  | "invalid_encoding"
  | "decompression_failed"
  | "malformed_protobuf"
  | "missing_field"
  | "invalid_signature_length"
  | "timestamp_out_of_range"

/** The only error `parseInvite` throws. */
export class InviteParseError extends Error {
  readonly _tag = "InviteParseError"
  constructor(
    readonly reason: InviteParseReason,
    detail: string,
  ) {
    super(`invalid invite (${reason}): ${detail}`)
    this.name = "InviteParseError"
  }
}

export interface InviteDetails {
  name?: string
  description?: string
  imageUrl?: string
  emoji?: string
  /** The invite stops working at this time. */
  expiresAt?: Date
  /** The conversation itself explodes at this time. */
  conversationExpiresAt?: Date
  /** Encoded for compatibility; not enforced by any Convos client. */
  expiresAfterUse?: boolean
}

export interface ParsedInvite extends InviteDetails {
  /** Normalised slug: no URL, no `*` separators. */
  slug: string
  tag: string
  /** Lower-case hex inbox id of the creator, as claimed by the (possibly forged) payload. */
  creatorInboxId: string
  conversationToken: Uint8Array
  expiresAfterUse: boolean
  /** Exactly the signed bytes. */
  payloadBytes: Uint8Array
  /** 65 bytes r‖s‖recoveryId. */
  signature: Uint8Array
}

/** Longest input accepted; real slugs are ~300 chars, a maximal name/description pair stays far below. */
const MAX_INPUT_CHARS = 16_384
/** Decompression output cap: a small slug must not inflate into a memory bomb. */
const MAX_DECOMPRESSED_BYTES = 65_536
const SEPARATOR_EVERY = 300
const COMPRESSION_MARKER = 0x1f
/** ±10^11 s covers any real date and keeps `new Date(s * 1000)` valid. */
const MAX_ABS_UNIX_SECONDS = 100_000_000_000n

const inviteHosts: Record<ConvosEnv, string> = {
  production: "https://popup.convos.org/v2",
  dev: "https://dev.convos.org/v2",
  local: "https://dev.convos.org/v2",
}

export function inviteUrlForSlug(slug: string, env: ConvosEnv): string {
  return `${inviteHosts[env]}?i=${encodeURIComponent(slug)}`
}

// ---------- slug framing ----------

function compressIfSmaller(data: Uint8Array): Uint8Array {
  if (data.length <= 100) return data
  // Raw DEFLATE is what iOS and Android write and read (the CLI's appData writer converged on it too).
  const compressed = deflateRawSync(data)
  if (compressed.length + 5 >= data.length) return data
  const header = Buffer.alloc(5)
  header[0] = COMPRESSION_MARKER
  header.writeUInt32BE(data.length, 1)
  return Buffer.concat([header, compressed])
}

function decompressIfNeeded(data: Buffer): Buffer {
  if (data[0] !== COMPRESSION_MARKER) return data
  if (data.length < 6) throw new InviteParseError("decompression_failed", "compressed payload is truncated")
  const body = data.subarray(5)
  const options = { maxOutputLength: MAX_DECOMPRESSED_BYTES }
  try {
    return inflateRawSync(body, options)
  } catch {
    try {
      return inflateSync(body, options)
    } catch (error) {
      throw new InviteParseError("decompression_failed", error instanceof Error ? error.message : "inflate failed")
    }
  }
}

function insertSeparators(slug: string): string {
  const parts: string[] = []
  for (let i = 0; i < slug.length; i += SEPARATOR_EVERY) parts.push(slug.slice(i, i + SEPARATOR_EVERY))
  return parts.join("*")
}

function encodeSignedInvite(payloadBytes: Uint8Array, signature: Uint8Array): string {
  const signed = new ProtoWriter().bytes(1, payloadBytes).bytes(2, signature).finish()
  return insertSeparators(Buffer.from(compressIfSmaller(signed)).toString("base64url"))
}

const SLUG_CHARS = /^[A-Za-z0-9_\-*+/=]+$/

/** Finds the slug inside any supported invite form; `undefined` when the input is not one. */
export function extractInviteSlug(input: string): string | undefined {
  const text = input.trim()
  if (SLUG_CHARS.test(text)) return text
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return undefined
  }
  const fromQuery = url.searchParams.get("i") ?? url.searchParams.get("code")
  if (fromQuery) return fromQuery
  // convos://join/<slug> parses with host "join"; https://convos.app/join/<slug> has it in the path.
  const segments = [url.host, ...url.pathname.split("/")].filter((s) => s.length > 0)
  const joinAt = segments.lastIndexOf("join")
  const segment = joinAt >= 0 ? segments[joinAt + 1] : undefined
  if (!segment) return undefined
  try {
    return decodeURIComponent(segment)
  } catch {
    return undefined
  }
}

function unixSecondsToDate(value: bigint | undefined, field: string): Date | undefined {
  if (value === undefined || value === 0n) return undefined
  if (value > MAX_ABS_UNIX_SECONDS || value < -MAX_ABS_UNIX_SECONDS)
    throw new InviteParseError("timestamp_out_of_range", `${field} is out of range`)
  return new Date(Number(value) * 1000)
}

/**
 * Parses a raw slug or any invite URL (`?i=`, legacy `?code=`, `convos://join/…`, `https://convos.app/join/…`).
 * Structure only: the signature is not checked here (see `verifyInviteSigner` / `recoverInviteSigner`).
 */
export function parseInvite(input: string): ParsedInvite {
  if (typeof input !== "string" || input.trim() === "") throw new InviteParseError("empty", "no invite given")
  if (input.length > MAX_INPUT_CHARS) throw new InviteParseError("too_long", `longer than ${MAX_INPUT_CHARS} chars`)
  const extracted = extractInviteSlug(input)
  if (extracted === undefined) throw new InviteParseError("unrecognised_url", "not an invite slug or invite URL")
  // Standard base64 (+ /) and padding are tolerated: some share sheets rewrite the alphabet.
  const slug = extracted.replace(/\*/g, "").replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")
  if (!/^[A-Za-z0-9_-]+$/.test(slug)) throw new InviteParseError("invalid_encoding", "slug is not base64url")
  if (slug.length % 4 === 1) throw new InviteParseError("invalid_encoding", "slug has an impossible base64 length")
  const signedBytes = decompressIfNeeded(Buffer.from(slug, "base64url"))
  try {
    const signed = new ProtoMessage(signedBytes)
    const payloadBytes = signed.bytes(1)
    const signature = signed.bytes(2)
    if (!payloadBytes || payloadBytes.length === 0) throw new InviteParseError("missing_field", "no payload")
    if (!signature || signature.length !== 65)
      throw new InviteParseError("invalid_signature_length", `signature is ${signature?.length ?? 0} bytes, expected 65`)
    const payload = new ProtoMessage(payloadBytes)
    const conversationToken = payload.bytes(1)
    const creator = payload.bytes(2)
    const tag = payload.string(3)
    if (!conversationToken || conversationToken.length === 0) throw new InviteParseError("missing_field", "no conversation token")
    if (!creator || creator.length === 0) throw new InviteParseError("missing_field", "no creator inbox id")
    if (!tag) throw new InviteParseError("missing_field", "no invite tag")
    const invite: ParsedInvite = {
      slug,
      tag,
      creatorInboxId: Buffer.from(creator).toString("hex"),
      conversationToken: Uint8Array.from(conversationToken),
      expiresAfterUse: payload.bool(9) ?? false,
      payloadBytes: Uint8Array.from(payloadBytes),
      signature: Uint8Array.from(signature),
    }
    const name = payload.string(4)
    const description = payload.string(5)
    const imageUrl = payload.string(6)
    const emoji = payload.string(10)
    const conversationExpiresAt = unixSecondsToDate(payload.sfixed64(7), "conversationExpiresAtUnix")
    const expiresAt = unixSecondsToDate(payload.sfixed64(8), "expiresAtUnix")
    if (name) invite.name = name
    if (description) invite.description = description
    if (imageUrl) invite.imageUrl = imageUrl
    if (emoji) invite.emoji = emoji
    if (conversationExpiresAt) invite.conversationExpiresAt = conversationExpiresAt
    if (expiresAt) invite.expiresAt = expiresAt
    return invite
  } catch (error) {
    if (error instanceof InviteParseError) throw error
    throw new InviteParseError("malformed_protobuf", error instanceof Error ? error.message : String(error))
  }
}

export type InviteParseResult = { ok: true; invite: ParsedInvite } | { ok: false; error: InviteParseError }

export function tryParseInvite(input: string): InviteParseResult {
  try {
    return { ok: true, invite: parseInvite(input) }
  } catch (error) {
    if (error instanceof InviteParseError) return { ok: false, error }
    // parseInvite is written to throw nothing else; surface a broken promise loudly rather than mislabel it.
    throw error
  }
}

// ---------- create / verify ----------

export interface CreateInviteInput extends InviteDetails {
  conversationId: string
  creatorInboxId: string
  /** The creator's wallet key: signs the payload and keys the conversation token. */
  walletKey: Hex
  /** The group's current invite tag (from its appData). */
  tag: string
}

export interface CreatedInvite {
  slug: string
  url: string
}

const sha256 = (bytes: Uint8Array): Hex => `0x${createHash("sha256").update(bytes).digest("hex")}`

function toUnixSeconds(date: Date | undefined): bigint | undefined {
  return date === undefined ? undefined : BigInt(Math.floor(date.getTime() / 1000))
}

export async function createInvite(input: CreateInviteInput, env: ConvosEnv): Promise<CreatedInvite> {
  if (!/^[0-9a-f]+$/i.test(input.creatorInboxId) || input.creatorInboxId.length % 2 !== 0)
    throw new Error("creatorInboxId must be hex")
  if (!input.tag) throw new Error("an invite needs the group's invite tag")
  const creatorInboxId = input.creatorInboxId.toLowerCase()
  const payloadBytes = new ProtoWriter()
    .bytes(1, encryptConversationToken(input.conversationId, creatorInboxId, input.walletKey))
    .bytes(2, Buffer.from(creatorInboxId, "hex"))
    .string(3, input.tag)
    .string(4, input.name)
    .string(5, input.description)
    .string(6, input.imageUrl)
    .sfixed64(7, toUnixSeconds(input.conversationExpiresAt))
    .sfixed64(8, toUnixSeconds(input.expiresAt))
    .bool(9, input.expiresAfterUse)
    .string(10, input.emoji)
    .finish()
  const signature = await sign({ hash: sha256(payloadBytes), privateKey: input.walletKey })
  const signatureBytes = Buffer.alloc(65)
  Buffer.from(signature.r.slice(2).padStart(64, "0"), "hex").copy(signatureBytes, 0)
  Buffer.from(signature.s.slice(2).padStart(64, "0"), "hex").copy(signatureBytes, 32)
  signatureBytes[64] = signature.yParity ?? 0
  const slug = encodeSignedInvite(payloadBytes, signatureBytes)
  return { slug, url: inviteUrlForSlug(slug, env) }
}

/** Re-encodes a parsed invite exactly (same payload and signature), e.g. to forward it as a join request. */
export function inviteToSlug(invite: Pick<ParsedInvite, "payloadBytes" | "signature">): string {
  return encodeSignedInvite(invite.payloadBytes, invite.signature)
}

const SECP256K1_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n

/** 65 bytes, r and s in [1, n-1], recovery id 0 or 1: the shape of a signature some key could have made. */
export function isWellFormedInviteSignature(signature: Uint8Array): boolean {
  if (signature.length !== 65 || (signature[64] !== 0 && signature[64] !== 1)) return false
  const r = BigInt(bytesToHex(signature.subarray(0, 32)))
  const s = BigInt(bytesToHex(signature.subarray(32, 64)))
  return r > 0n && r < SECP256K1_ORDER && s > 0n && s < SECP256K1_ORDER
}

/**
 * The uncompressed public key that signed the payload, or `undefined` when no key can be recovered.
 * A joiner can only check this much: binding the key to `creatorInboxId` needs the network (the creator checks it
 * against its own key instead, with the much cheaper `verifyInviteSigner`).
 */
export async function recoverInviteSigner(invite: Pick<ParsedInvite, "payloadBytes" | "signature">): Promise<Hex | undefined> {
  if (!isWellFormedInviteSignature(invite.signature)) return undefined
  try {
    return await recoverPublicKey({ hash: sha256(invite.payloadBytes), signature: bytesToHex(invite.signature) })
  } catch {
    return undefined
  }
}

// Deriving a key object costs about as much as a verification: keep the few wallet keys a process uses.
const verifyKeys = new Map<string, { publicKey: Hex; keyObject: KeyObject }>()

function walletKeys(walletKey: Hex): { publicKey: Hex; keyObject: KeyObject } {
  const cacheKey = createHash("sha256").update(walletKey.toLowerCase()).digest("hex")
  let keys = verifyKeys.get(cacheKey)
  if (!keys) {
    const ecdh = createECDH("secp256k1")
    ecdh.setPrivateKey(walletKeyBytes(walletKey))
    const point = ecdh.getPublicKey()
    const keyObject = createPublicKey({
      key: { kty: "EC", crv: "secp256k1", x: point.subarray(1, 33).toString("base64url"), y: point.subarray(33).toString("base64url") },
      format: "jwk",
    })
    keys = { publicKey: `0x${point.toString("hex")}`, keyObject }
    if (verifyKeys.size >= 16) verifyKeys.clear()
    verifyKeys.set(cacheKey, keys)
  }
  return keys
}

/** Uncompressed (0x04…) secp256k1 public key of a wallet key. */
export function walletPublicKey(walletKey: Hex): Hex {
  return walletKeys(walletKey).publicKey
}

/** True only when `walletKey` signed exactly these payload bytes (ECDSA verify; the recovery id is not needed). */
export function verifyInviteSigner(invite: Pick<ParsedInvite, "payloadBytes" | "signature">, walletKey: Hex): boolean {
  if (!isWellFormedInviteSignature(invite.signature)) return false
  try {
    return verify("sha256", invite.payloadBytes, { key: walletKeys(walletKey).keyObject, dsaEncoding: "ieee-p1363" }, invite.signature.subarray(0, 64))
  } catch {
    return false
  }
}

export function isInviteExpired(invite: Pick<ParsedInvite, "expiresAt" | "conversationExpiresAt">, now: Date): boolean {
  const time = now.getTime()
  return (
    (invite.expiresAt !== undefined && invite.expiresAt.getTime() <= time) ||
    (invite.conversationExpiresAt !== undefined && invite.conversationExpiresAt.getTime() <= time)
  )
}
