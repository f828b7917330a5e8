import { describe, expect, it } from "vitest"
import { MemberKind } from "./contentTypes.ts"
import { profileSnapshotOf, resolveProfiles } from "./profiles.ts"

const A = "aa".repeat(32)
const B = "bb".repeat(32)
const C = "cc".repeat(32)
const update = (sender: string, name: string, memberKind?: MemberKind) =>
  ({ senderInboxId: sender, kind: "profile_update", profile: { name, ...(memberKind === undefined ? {} : { memberKind }) } }) as const
const snapshot = (sender: string, profiles: Array<{ inboxId: string; name: string; memberKind?: MemberKind }>) =>
  ({ senderInboxId: sender, kind: "profile_snapshot", profileSnapshot: { profiles } }) as const
const text = (sender: string) => ({ senderInboxId: sender, kind: "text" }) as const

describe("resolveProfiles", () => {
  it("takes a member's own newest update over any snapshot, and fills the rest from the newest snapshot only", () => {
    const newestFirst = [
      text(A),
      snapshot(C, [{ inboxId: A, name: "A in a snapshot" }, { inboxId: B, name: "Bob", memberKind: MemberKind.User }]),
      update(A, "Ada", MemberKind.Agent),
      update(A, "Ada (old)"),
      snapshot(C, [{ inboxId: C, name: "Carol in an older snapshot" }]),
    ]
    const resolved = resolveProfiles(newestFirst, [A, B.toUpperCase(), C])
    expect(resolved.get(A)).toMatchObject({ inboxId: A, name: "Ada", memberKind: MemberKind.Agent })
    expect(resolved.get(B)).toMatchObject({ inboxId: B, name: "Bob", memberKind: MemberKind.User })
    expect(resolved.has(C)).toBe(false)
  })

  it("ignores profiles of people who are not members", () => {
    expect(resolveProfiles([update(C, "Gone", MemberKind.Agent), snapshot(A, [{ inboxId: C, name: "Gone" }])], [A, B]).size).toBe(0)
  })
})

describe("profileSnapshotOf", () => {
  it("lists the members with a known profile, in member order", () => {
    const newestFirst = [update(B, "Bot", MemberKind.Agent), update(A, "Ada")]
    expect(profileSnapshotOf(newestFirst, [A, B, C]).profiles.map((p) => p.name)).toEqual(["Ada", "Bot"])
    expect(profileSnapshotOf([], [A, B]).profiles).toEqual([])
  })
})
