/**
 * Convos content types, as XMTP codecs (structurally `ContentCodec` from @xmtp/content-type-primitives).
 * Registered on every client so Convos apps' messages decode instead of arriving as raw bytes.
 *
 * - convos.org/join_request:1.0      JSON {inviteSlug, profile?{name?, imageURL?, memberKind?}, metadata?}
 * - convos.org/profile_update:1.0    protobuf ProfileUpdate{name=1, encrypted_image=2, member_kind=3, metadata=4}
 * - convos.org/profile_snapshot:1.0  protobuf ProfileSnapshot{repeated MemberProfile profiles=1}
 * - convos.org/typing_indicator:1.0  JSON {isTyping}
 * - convos.org/explode_settings:1.0  JSON {expiresAt (ISO)}
 */
import { ProtoMessage, ProtoWriter } from "./protobuf.ts"

export interface ContentTypeId {
  authorityId: string
  typeId: string
  versionMajor: number
  versionMinor: number
}

export interface EncodedContent {
  type?: ContentTypeId
  parameters: Record<string, string>
  fallback?: string
  compression?: number
  content: Uint8Array
}

export interface ConvosCodec<T> {
  readonly contentType: ContentTypeId
  encode(content: T): EncodedContent
  decode(content: EncodedContent): T
  fallback(content: T): string | undefined
  shouldPush(content: T): boolean
}

const convosType = (typeId: string): ContentTypeId => ({ authorityId: "convos.org", typeId, versionMajor: 1, versionMinor: 0 })

export const ContentTypeJoinRequest = convosType("join_request")
export const ContentTypeProfileUpdate = convosType("profile_update")
export const ContentTypeProfileSnapshot = convosType("profile_snapshot")
export const ContentTypeTypingIndicator = convosType("typing_indicator")
export const ContentTypeExplodeSettings = convosType("explode_settings")

export function sameContentType(a: ContentTypeId | undefined, b: ContentTypeId): boolean {
  return a !== undefined && a.authorityId === b.authorityId && a.typeId === b.typeId
}

// ---------- join request ----------

export interface JoinRequestContent {
  inviteSlug: string
  profile?: { name?: string; imageURL?: string; memberKind?: "agent" | string }
  metadata?: Record<string, string>
}

const jsonBytes = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))
const parseJson = (bytes: Uint8Array): unknown => JSON.parse(new TextDecoder().decode(bytes))
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null

export class JoinRequestCodec implements ConvosCodec<JoinRequestContent> {
  readonly contentType = ContentTypeJoinRequest
  encode(content: JoinRequestContent): EncodedContent {
    return { type: ContentTypeJoinRequest, parameters: {}, fallback: content.inviteSlug, content: jsonBytes(content) }
  }
  decode(encoded: EncodedContent): JoinRequestContent {
    const parsed = parseJson(encoded.content)
    if (!isRecord(parsed) || typeof parsed.inviteSlug !== "string" || parsed.inviteSlug === "")
      throw new Error("join request without inviteSlug")
    return parsed as unknown as JoinRequestContent
  }
  // Old iOS clients only understand the plain-text slug.
  fallback(content: JoinRequestContent): string {
    return content.inviteSlug
  }
  shouldPush(): boolean {
    return true
  }
}

// ---------- profiles ----------

/** What a member declares itself in its profile (Convos apps write User for people, the CLI and agents Agent). */
export const MemberKind = { Unspecified: 0, Agent: 1, User: 2 } as const
export type MemberKind = (typeof MemberKind)[keyof typeof MemberKind]

export type ProfileMetadataValue = { type: "string"; value: string } | { type: "number"; value: number } | { type: "bool"; value: boolean }

export interface EncryptedProfileImage {
  url: string
  salt: Uint8Array
  nonce: Uint8Array
}

export interface ProfileUpdate {
  name?: string
  encryptedImage?: EncryptedProfileImage
  memberKind?: MemberKind
  metadata?: Record<string, ProfileMetadataValue>
}

export interface MemberProfile extends ProfileUpdate {
  inboxId: string
}

export interface ProfileSnapshot {
  profiles: MemberProfile[]
}

function writeProfileFields(
  writer: ProtoWriter,
  profile: ProfileUpdate,
  fields: { name: number; image: number; kind: number; metadata: number },
): ProtoWriter {
  writer.string(fields.name, profile.name)
  if (profile.encryptedImage) {
    const { url, salt, nonce } = profile.encryptedImage
    writer.message(fields.image, new ProtoWriter().string(1, url).bytes(2, salt).bytes(3, nonce))
  }
  if (profile.memberKind !== undefined && profile.memberKind !== MemberKind.Unspecified) writer.varint(fields.kind, profile.memberKind)
  for (const [key, entry] of Object.entries(profile.metadata ?? {})) {
    const value = new ProtoWriter()
    // oneof members are written even when they hold the default value, so "" / 0 / false survive.
    if (entry.type === "string") value.bytes(1, new TextEncoder().encode(entry.value))
    else if (entry.type === "number") value.double(2, entry.value)
    else value.varint(3, entry.value ? 1 : 0)
    writer.message(fields.metadata, new ProtoWriter().string(1, key).message(2, value))
  }
  return writer
}

function readProfileFields(
  message: ProtoMessage,
  fields: { name: number; image: number; kind: number; metadata: number },
): ProfileUpdate {
  const profile: ProfileUpdate = {}
  const name = message.string(fields.name)
  if (name) profile.name = name
  const imageBytes = message.bytes(fields.image)
  if (imageBytes) {
    const image = new ProtoMessage(imageBytes)
    const url = image.string(1)
    const salt = image.bytes(2)
    const nonce = image.bytes(3)
    // Same validity rule as the apps: a 32-byte salt and a 12-byte nonce, or no image.
    if (url && salt?.length === 32 && nonce?.length === 12) profile.encryptedImage = { url, salt, nonce }
  }
  const kind = message.varint(fields.kind)
  if (kind === 1n) profile.memberKind = MemberKind.Agent
  else if (kind === 2n) profile.memberKind = MemberKind.User
  const metadata: Record<string, ProfileMetadataValue> = {}
  for (const entryBytes of message.repeatedBytes(fields.metadata)) {
    const entry = new ProtoMessage(entryBytes)
    const key = entry.string(1)
    const valueBytes = entry.bytes(2)
    if (key === undefined || valueBytes === undefined) continue
    const value = new ProtoMessage(valueBytes)
    const text = value.string(1)
    const number = value.double(2)
    const bool = value.bool(3)
    if (text !== undefined) metadata[key] = { type: "string", value: text }
    else if (number !== undefined) metadata[key] = { type: "number", value: number }
    else if (bool !== undefined) metadata[key] = { type: "bool", value: bool }
  }
  if (Object.keys(metadata).length > 0) profile.metadata = metadata
  return profile
}

const updateFields = { name: 1, image: 2, kind: 3, metadata: 4 }
const memberFields = { name: 2, image: 3, kind: 4, metadata: 5 }

export class ProfileUpdateCodec implements ConvosCodec<ProfileUpdate> {
  readonly contentType = ContentTypeProfileUpdate
  encode(content: ProfileUpdate): EncodedContent {
    return {
      type: ContentTypeProfileUpdate,
      parameters: {},
      content: writeProfileFields(new ProtoWriter(), content, updateFields).finish(),
    }
  }
  decode(encoded: EncodedContent): ProfileUpdate {
    return readProfileFields(new ProtoMessage(encoded.content), updateFields)
  }
  fallback(): undefined {
    return undefined
  }
  shouldPush(): boolean {
    return false
  }
}

export class ProfileSnapshotCodec implements ConvosCodec<ProfileSnapshot> {
  readonly contentType = ContentTypeProfileSnapshot
  encode(content: ProfileSnapshot): EncodedContent {
    const writer = new ProtoWriter()
    for (const profile of content.profiles) {
      const entry = new ProtoWriter().bytes(1, Buffer.from(profile.inboxId, "hex"))
      writer.message(1, writeProfileFields(entry, profile, memberFields))
    }
    return { type: ContentTypeProfileSnapshot, parameters: {}, content: writer.finish() }
  }
  decode(encoded: EncodedContent): ProfileSnapshot {
    return {
      profiles: new ProtoMessage(encoded.content).repeatedBytes(1).map((bytes) => {
        const message = new ProtoMessage(bytes)
        return {
          inboxId: Buffer.from(message.bytes(1) ?? new Uint8Array()).toString("hex"),
          ...readProfileFields(message, memberFields),
        }
      }),
    }
  }
  fallback(): undefined {
    return undefined
  }
  shouldPush(): boolean {
    return false
  }
}

// ---------- small JSON types Convos apps send ----------

export interface TypingIndicator {
  isTyping: boolean
}

export class TypingIndicatorCodec implements ConvosCodec<TypingIndicator> {
  readonly contentType = ContentTypeTypingIndicator
  encode(content: TypingIndicator): EncodedContent {
    return { type: ContentTypeTypingIndicator, parameters: {}, content: jsonBytes({ isTyping: content.isTyping }) }
  }
  decode(encoded: EncodedContent): TypingIndicator {
    const parsed = parseJson(encoded.content)
    if (!isRecord(parsed) || typeof parsed.isTyping !== "boolean") throw new Error("typing indicator without isTyping")
    return { isTyping: parsed.isTyping }
  }
  fallback(): undefined {
    return undefined
  }
  shouldPush(): boolean {
    return false
  }
}

export interface ExplodeSettings {
  /** ISO-8601 time at which the conversation explodes. */
  expiresAt: string
}

export class ExplodeSettingsCodec implements ConvosCodec<ExplodeSettings> {
  readonly contentType = ContentTypeExplodeSettings
  encode(content: ExplodeSettings): EncodedContent {
    return {
      type: ContentTypeExplodeSettings,
      parameters: {},
      fallback: `Conversation expires at ${content.expiresAt}`,
      content: jsonBytes({ expiresAt: content.expiresAt }),
    }
  }
  decode(encoded: EncodedContent): ExplodeSettings {
    const parsed = parseJson(encoded.content)
    if (!isRecord(parsed) || typeof parsed.expiresAt !== "string") throw new Error("explode settings without expiresAt")
    return { expiresAt: parsed.expiresAt }
  }
  fallback(content: ExplodeSettings): string {
    return `Conversation expires at ${content.expiresAt}`
  }
  shouldPush(): boolean {
    return true
  }
}

export function convosCodecs(): ConvosCodec<any>[] {
  return [
    new JoinRequestCodec(),
    new ProfileUpdateCodec(),
    new ProfileSnapshotCodec(),
    new TypingIndicatorCodec(),
    new ExplodeSettingsCodec(),
  ]
}
