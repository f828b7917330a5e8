import { describe, expect, it } from "vitest"
import type { ConvosMessageEvent } from "../../../../convos/index.ts"
import { toTransportContent } from "./transportConvos.ts"

const event = (extra: Partial<ConvosMessageEvent>): ConvosMessageEvent => ({
  id: "m1", conversationId: "c".repeat(32), senderInboxId: "1".repeat(64), sentAt: new Date(0), isDm: false, kind: "text", contentType: "xmtp.org/text:1.0", raw: undefined, ...extra,
})

describe("toTransportContent (convos/ events → plugin content)", () => {
  it("maps text, markdown and replies", () => {
    expect(toTransportContent(event({ kind: "text", text: "hi" }))).toEqual({ kind: "text", text: "hi" })
    expect(toTransportContent(event({ kind: "markdown", text: "**hi**" }))).toEqual({ kind: "text", text: "**hi**" })
    expect(toTransportContent(event({ kind: "reply", text: "yes", referenceMessageId: "m0" }))).toEqual({ kind: "reply", text: "yes", inReplyTo: "m0" })
  })
  it("maps reactions with their target, and drops reactions without one", () => {
    expect(toTransportContent(event({ kind: "reaction", reaction: { emoji: "👍", action: "added" }, referenceMessageId: "m0" }))).toEqual({
      kind: "reaction", emoji: "👍", action: "added", reference: "m0",
    })
    expect(toTransportContent(event({ kind: "reaction", reaction: { emoji: "👍", action: "added" } })).kind).toBe("other")
  })
  it("passes inline attachment bytes and describes remote ones", () => {
    const data = new Uint8Array([1, 2])
    expect(toTransportContent(event({ kind: "attachment", attachment: { filename: "a.png", mimeType: "image/png" }, raw: { data } }))).toEqual({
      kind: "attachment", filename: "a.png", mimeType: "image/png", data,
    })
    expect(toTransportContent(event({ kind: "remote_attachment", attachment: { url: "https://x" } }))).toEqual({
      kind: "attachment", filename: "attachment", mimeType: "application/octet-stream",
    })
  })
  it("counts members who left as removed in group updates", () => {
    const groupUpdate = { initiatedByInboxId: "x", addedInboxIds: ["a"], removedInboxIds: ["b"], leftInboxIds: ["c"], metadataChanges: [] }
    expect(toTransportContent(event({ kind: "group_updated", groupUpdate }))).toEqual({ kind: "group_updated", addedInboxIds: ["a"], removedInboxIds: ["b", "c"] })
  })
  it("keeps other kinds as unsupported with their fallback", () => {
    expect(toTransportContent(event({ kind: "read_receipt" }))).toEqual({ kind: "other", typeId: "read_receipt" })
    expect(toTransportContent(event({ kind: "unknown", fallback: "poll" }))).toEqual({ kind: "other", typeId: "unknown", fallback: "poll" })
  })
})
