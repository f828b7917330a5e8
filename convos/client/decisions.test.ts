import { describe, expect, it } from "vitest"
import { decideBinding, type BindingFacts } from "./joins.ts"
import { membershipEventOf } from "./messageStreams.ts"

const facts = (over: Partial<BindingFacts>): BindingFacts => ({
  consent: "unknown",
  expected: false,
  joining: false,
  addedBySelf: false,
  acceptAll: false,
  acceptOnly: false,
  ...over,
})

describe("decideBinding: whether a group is ours", () => {
  it("a group already allowed is bound with nothing to announce, whatever waits for it", () => {
    expect(decideBinding(facts({ consent: "allowed", expected: true, joining: true }))).toEqual({ kind: "bound" })
  })

  it("an expected add wins over a join and binds even a group denied before", () => {
    expect(decideBinding(facts({ expected: true, joining: true }))).toEqual({ kind: "bind", via: "added" })
    expect(decideBinding(facts({ consent: "denied", expected: true }))).toEqual({ kind: "bind", via: "added" })
  })

  it("a join by invite binds the group carrying the invite's tag", () => {
    expect(decideBinding(facts({ joining: true }))).toEqual({ kind: "bind", via: "invite" })
  })

  it("a group we created ourselves, and under accept_all any group, is ours", () => {
    expect(decideBinding(facts({ addedBySelf: true }))).toEqual({ kind: "bind", via: "created" })
    expect(decideBinding(facts({ acceptAll: true }))).toEqual({ kind: "bind", via: "added" })
  })

  it("an unexpected welcome is ignored, except by the local check, which only ever accepts", () => {
    expect(decideBinding(facts({}))).toEqual({ kind: "ignore" })
    expect(decideBinding(facts({ acceptOnly: true }))).toEqual({ kind: "undecided" })
  })

  it("a denied group stays denied: no second 'ignored', and accept_all does not take it back", () => {
    expect(decideBinding(facts({ consent: "denied" }))).toEqual({ kind: "undecided" })
    expect(decideBinding(facts({ consent: "denied", acceptAll: true, addedBySelf: true }))).toEqual({ kind: "undecided" })
  })
})

describe("membershipEventOf: what a group update means for us", () => {
  const update = (over: Partial<{ addedInboxIds: string[]; removedInboxIds: string[]; leftInboxIds: string[] }>) => ({
    initiatedByInboxId: "admin",
    addedInboxIds: [],
    removedInboxIds: [],
    leftInboxIds: [],
    metadataChanges: [],
    ...over,
  })

  it("our removal (or leaving), compared without case, is 'removed'", () => {
    expect(membershipEventOf("c1", update({ removedInboxIds: ["SELF"] }), "self")).toEqual({ type: "removed", conversationId: "c1", byInboxId: "admin" })
    expect(membershipEventOf("c1", update({ leftInboxIds: ["self"] }), "self")).toMatchObject({ type: "removed" })
  })

  it("others joining or leaving is 'members_changed', left members counted as removed", () => {
    expect(membershipEventOf("c1", update({ addedInboxIds: ["a"], leftInboxIds: ["b"] }), "self")).toEqual({
      type: "members_changed",
      conversationId: "c1",
      addedInboxIds: ["a"],
      removedInboxIds: ["b"],
      byInboxId: "admin",
    })
  })

  it("a metadata-only update is no membership event", () => {
    expect(membershipEventOf("c1", update({}), "self")).toBeUndefined()
  })
})
