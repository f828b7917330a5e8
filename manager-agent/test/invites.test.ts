import { randomBytes } from "node:crypto"
import { generatePrivateKey } from "viem/accounts"
import { describe, expect, it } from "vitest"
import { createInvite } from "../../convos/invite.ts"
import { pastedInvite } from "../src/commands/invites.ts"

const managerInbox = randomBytes(32).toString("hex")
const invite = (creatorInboxId: string) =>
  createInvite({ conversationId: randomBytes(16).toString("hex"), creatorInboxId, walletKey: generatePrivateKey(), tag: "Tag1" }, "dev")

describe("a Convos invite pasted into a 1:1 with the manager", () => {
  it("someone else's link, bare or inside a sentence, is a request to join it", async () => {
    const other = await invite(randomBytes(32).toString("hex"))
    expect(pastedInvite(other.url, managerInbox)).toEqual({ kind: "other", invite: other.url })
    expect(pastedInvite(`could you come to <${other.url}>, thanks!`, managerInbox)).toEqual({ kind: "other", invite: other.url })
    expect(pastedInvite(other.slug, managerInbox)).toEqual({ kind: "other", invite: other.slug })
  })

  it("the manager's own link (a joiner's plain-text twin of its join request) is its own", async () => {
    const own = await invite(managerInbox.toUpperCase())
    expect(pastedInvite(own.slug, managerInbox)).toEqual({ kind: "own" })
  })

  it("ordinary text and broken links are not invites", () => {
    expect(pastedInvite("spawn a trip planner here", managerInbox)).toBeUndefined()
    expect(pastedInvite("https://dev.convos.org/v2?i=zzz", managerInbox)).toBeUndefined()
    expect(pastedInvite("supercalifragilisticexpialidocious", managerInbox)).toBeUndefined()
  })
})
