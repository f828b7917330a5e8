import * as cliMetadata from "@xmtp/convos-cli/utils/metadata"
import * as cliProfiles from "@xmtp/convos-cli/utils/profileMessages"
import { randomBytes } from "node:crypto"
import { describe, expect, it } from "vitest"
import { MemberKind, ProfileSnapshotCodec, ProfileUpdateCodec } from "./contentTypes.ts"
import { AppDataError, decodeAppData, encodeAppData, newInviteTag, readAppData, rotateInviteTag, upsertProfile } from "./metadata.ts"
import { ProtoWriter } from "./protobuf.ts"

const inboxA = randomBytes(32).toString("hex")
const inboxB = randomBytes(32).toString("hex")

describe("appData metadata", () => {
  it("round-trips with the CLI's encoder in both directions, compressed or not", () => {
    for (const profileCount of [0, 1, 30]) {
      const profiles = Array.from({ length: profileCount }, (_, i) => ({ inboxId: randomBytes(32).toString("hex"), name: `Agent ${i}` }))
      const ours = encodeAppData({ tag: "TagTag1234", profiles, emoji: "🦊", expiresAtUnix: 1_900_000_000 })
      expect(cliMetadata.parseAppData(ours)).toMatchObject({ tag: "TagTag1234", emoji: "🦊", expiresAtUnix: 1_900_000_000, profiles })
      const theirs = cliMetadata.serializeAppData({ tag: "Their12345", profiles, emoji: "🐙" })
      expect(decodeAppData(theirs)).toMatchObject({ tag: "Their12345", emoji: "🐙", profiles })
    }
  })

  it("keeps fields it does not know through a read-modify-write", () => {
    const withFutureField = Buffer.from(new ProtoWriter().string(1, "OldTag0000").string(42, "future").finish()).toString("base64url")
    const rewritten = encodeAppData(upsertProfile(decodeAppData(withFutureField), { inboxId: inboxA, name: "Bot" }))
    const again = decodeAppData(rewritten)
    expect(again.tag).toBe("OldTag0000")
    expect(again.profiles).toEqual([{ inboxId: inboxA, name: "Bot" }])
    expect(again.unknownFields?.length).toBe(1)
  })

  it("upserts profiles by inbox id and rotates the tag", () => {
    let metadata = upsertProfile({ tag: "t", profiles: [{ inboxId: inboxA, name: "A" }] }, { inboxId: inboxB, name: "B" })
    metadata = upsertProfile(metadata, { inboxId: inboxA.toUpperCase(), name: "A2" })
    expect(metadata.profiles).toEqual([
      { inboxId: inboxA, name: "A2" },
      { inboxId: inboxB, name: "B" },
    ])
    const rotated = rotateInviteTag(metadata)
    expect(rotated.tag).toMatch(/^[A-Za-z0-9]{10}$/)
    expect(rotated.tag).not.toBe("t")
    expect(newInviteTag()).not.toBe(newInviteTag())
  })

  it("refuses undecodable appData on the strict path and reads it as empty on the lenient one", () => {
    expect(() => decodeAppData("not base64!")).toThrow(AppDataError)
    expect(() => decodeAppData(Buffer.from([0x0a, 0x50]).toString("base64url"))).toThrow(AppDataError)
    expect(readAppData("not base64!")).toEqual({ tag: "", profiles: [] })
    expect(decodeAppData('{"tag":"legacy"}').tag).toBe("legacy")
  })

  it("refuses to write more than 8 KiB", () => {
    const profiles = Array.from({ length: 200 }, () => ({ inboxId: randomBytes(32).toString("hex"), name: randomBytes(20).toString("hex") }))
    expect(() => encodeAppData({ tag: "t", profiles })).toThrow(/limit/)
  })
})

describe("profile content types", () => {
  it("profile updates interoperate with the CLI codec, agent kind and metadata included", () => {
    const update = { name: "Trip Planner", memberKind: MemberKind.Agent, metadata: { zero: { type: "number" as const, value: 0 }, ok: { type: "bool" as const, value: false } } }
    const decodedByCli = new cliProfiles.ProfileUpdateCodec().decode(new ProfileUpdateCodec().encode(update) as never)
    expect(decodedByCli).toEqual(update)
    const fromCli = new cliProfiles.ProfileUpdateCodec().encode({ name: "Human", memberKind: cliProfiles.MemberKind.Unspecified })
    expect(new ProfileUpdateCodec().decode(fromCli as never)).toEqual({ name: "Human" })
    // Convos apps declare people as User (2), a kind the CLI's codec does not know.
    expect(new ProfileUpdateCodec().decode(new ProfileUpdateCodec().encode({ name: "Person", memberKind: MemberKind.User }))).toEqual({ name: "Person", memberKind: 2 })
  })

  it("profile snapshots interoperate with the CLI codec", () => {
    const snapshot = { profiles: [{ inboxId: inboxA, name: "A", memberKind: MemberKind.Agent }, { inboxId: inboxB }] }
    expect(new cliProfiles.ProfileSnapshotCodec().decode(new ProfileSnapshotCodec().encode(snapshot) as never)).toEqual(snapshot)
    const fromCli = new cliProfiles.ProfileSnapshotCodec().encode(snapshot as never)
    expect(new ProfileSnapshotCodec().decode(fromCli as never)).toEqual(snapshot)
  })
})
