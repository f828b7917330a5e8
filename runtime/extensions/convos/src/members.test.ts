import { describe, expect, it } from "vitest"
import { memberDirectory } from "./members.ts"

const conv = "c".repeat(32)
const cli = "1".repeat(64)
const person = "2".repeat(64)
const agent = "3".repeat(64)

describe("memberDirectory", () => {
  it("takes memberKind Agent (1) as an agent and User (2) as a person; an update without a kind keeps the last one", () => {
    const members = memberDirectory()
    members.learn(conv, cli, { name: "Ann (CLI)", memberKind: 1 })
    members.learn(conv, person, { name: "Bob", memberKind: 2 })
    expect(members.isAgent(conv, cli.toUpperCase())).toBe(true)
    expect(members.isAgent(conv, person)).toBe(false)
    members.learn(conv, cli, { name: "Ann" })
    expect(members.isAgent(conv, cli)).toBe(true)
    expect(members.nameOf(conv, cli)).toBe("Ann")
    // A person who declared User after an Agent profile is a person from then on.
    members.learn(conv, cli, { memberKind: 2 })
    expect(members.isAgent(conv, cli)).toBe(false)
  })

  it("lists the conversation's agents but the ones excepted, and forgets members who left", () => {
    const members = memberDirectory()
    members.learn(conv, cli, { memberKind: 1 })
    members.learn(conv, agent, { memberKind: 1 })
    members.learn(conv, person, { memberKind: 2 })
    members.learn("d".repeat(32), person, { memberKind: 1 })
    expect(members.agentsExcept(conv, [cli.toUpperCase()])).toEqual([agent])
    members.forget(conv, agent)
    expect(members.agentsExcept(conv, [cli])).toEqual([])
  })

  it("takes an appData name only when no profile named the member", () => {
    const members = memberDirectory()
    members.learn(conv, cli, { name: "Ann" })
    members.learnNameIfUnknown(conv, cli, "Old name")
    members.learnNameIfUnknown(conv, person, "Bob")
    expect([members.nameOf(conv, cli), members.nameOf(conv, person)]).toEqual(["Ann", "Bob"])
  })
})
