import { describe, expect, it } from "vitest"
import { BACKLOG_HEADING, backlogTurn, classifyInbound, type InboundContext, type InboundTurn } from "./events.ts"
import type { TransportMessage } from "./transport.ts"

const self = "a".repeat(64)
const alice = "1".repeat(64)
const conv = "c".repeat(32)
const context: InboundContext = { selfInboxId: self, boundConversationId: conv, ownMessageIds: new Set(["mine-1"]) }
const message = (content: TransportMessage["content"], extra: Partial<TransportMessage> = {}): TransportMessage => ({
  id: "m1", conversationId: conv, senderInboxId: alice, senderName: "Alice", sentAt: new Date(1_000), content, ...extra,
})

describe("classifyInbound", () => {
  it("turns a text from the bound conversation into a turn with sender name and inbox", () => {
    expect(classifyInbound(message({ kind: "text", text: " hi there " }), context)).toEqual({
      kind: "turn",
      turn: {
        messageId: "m1", conversationId: conv, senderInboxId: alice, senderName: "Alice", senderIsAgent: false, repliesToUs: false, weAreTheOnlyAgent: true,
        text: "hi there", replyTo: "m1", timestamp: 1_000,
      },
    })
  })
  it("ignores other conversations, own messages and plain group updates, and nothing when unbound", () => {
    expect(classifyInbound(message({ kind: "text", text: "x" }, { conversationId: "d".repeat(32) }), context).kind).toBe("ignore")
    expect(classifyInbound(message({ kind: "text", text: "x" }, { senderInboxId: self }), context).kind).toBe("ignore")
    expect(classifyInbound(message({ kind: "text", text: "x" }), { ...context, boundConversationId: null }).kind).toBe("ignore")
  })
  it("never turns a message of the manager that spawned us into a turn, even one that names us", () => {
    const manager = "f".repeat(64)
    const withManager = { ...context, managerInboxId: manager }
    expect(classifyInbound(message({ kind: "text", text: "Chef is joining…" }, { senderInboxId: manager.toUpperCase() }), withManager)).toEqual({
      kind: "ignore",
      reason: "message from the manager that spawned us",
    })
    expect(classifyInbound(message({ kind: "text", text: "Chef, hi" }), withManager).kind).toBe("turn")
    // The manager removing us still ends the binding.
    expect(classifyInbound(message({ kind: "group_updated", addedInboxIds: [], removedInboxIds: [self] }, { senderInboxId: manager }), withManager).kind).toBe("ended")
  })
  it("reports members other than us joining, and nothing when only we were added", () => {
    expect(classifyInbound(message({ kind: "group_updated", addedInboxIds: [alice.toUpperCase(), self], removedInboxIds: [] }), context)).toEqual({
      kind: "members_added",
      inboxIds: [alice],
    })
    expect(classifyInbound(message({ kind: "group_updated", addedInboxIds: [self], removedInboxIds: [] }), context).kind).toBe("ignore")
  })
  it("reports that we were removed when a group update removes our inbox", () => {
    expect(classifyInbound(message({ kind: "group_updated", addedInboxIds: [], removedInboxIds: [self] }), context)).toEqual({ kind: "ended", reason: "removed" })
  })
  it("answers a reaction only when it is on one of our messages", () => {
    const onOurs = classifyInbound(message({ kind: "reaction", emoji: "👍", action: "added", reference: "mine-1" }), context)
    expect(onOurs).toMatchObject({ kind: "turn", turn: { text: "Alice reacted 👍 to your message.", replyTo: "mine-1" } })
    expect(classifyInbound(message({ kind: "reaction", emoji: "👍", action: "added", reference: "other" }), context).kind).toBe("ignore")
    expect(classifyInbound(message({ kind: "reaction", emoji: "👍", action: "removed", reference: "mine-1" }), context).kind).toBe("ignore")
  })
  it("passes image bytes to the turn and describes other files", () => {
    const data = new Uint8Array([1, 2, 3])
    const image = classifyInbound(message({ kind: "attachment", filename: "cat.png", mimeType: "image/png", data }), context)
    expect(image).toMatchObject({ kind: "turn", turn: { image: { filename: "cat.png", mimeType: "image/png", data } } })
    const pdf = classifyInbound(message({ kind: "attachment", filename: "a.pdf", mimeType: "application/pdf" }), context)
    expect(pdf).toMatchObject({ kind: "turn", turn: { text: expect.stringContaining("a.pdf") } })
  })
  it("marks senders whose profile says they are agents, and falls back to a short inbox for nameless senders", () => {
    const fromAgent = classifyInbound(message({ kind: "text", text: "hi" }, { senderInboxId: "f".repeat(64), senderName: "", senderIsAgent: true }), context)
    expect(fromAgent).toMatchObject({ kind: "turn", turn: { senderIsAgent: true, senderName: "ffffffff…" } })
    const fromHuman = classifyInbound(message({ kind: "text", text: "hi" }), context)
    expect(fromHuman).toMatchObject({ kind: "turn", turn: { senderIsAgent: false } })
  })
  it("marks replies and reactions to our own messages as replying to us, and nothing else", () => {
    expect(classifyInbound(message({ kind: "reply", text: "sure", inReplyTo: "mine-1" }), context)).toMatchObject({ turn: { repliesToUs: true } })
    expect(classifyInbound(message({ kind: "reply", text: "sure", inReplyTo: "other" }), context)).toMatchObject({ turn: { repliesToUs: false } })
    expect(classifyInbound(message({ kind: "reaction", emoji: "👍", action: "added", reference: "mine-1" }), context)).toMatchObject({ turn: { repliesToUs: true } })
  })
  it("knows whether we are the conversation's only agent, not counting the manager", () => {
    const manager = "f".repeat(64)
    const other = "e".repeat(64)
    const withManager = { ...context, managerInboxId: manager }
    expect(classifyInbound(message({ kind: "text", text: "hi" }, { otherAgentInboxIds: [manager.toUpperCase()] }), withManager)).toMatchObject({ turn: { weAreTheOnlyAgent: true } })
    expect(classifyInbound(message({ kind: "text", text: "hi" }, { otherAgentInboxIds: [manager, other] }), withManager)).toMatchObject({ turn: { weAreTheOnlyAgent: false } })
  })
  it("ignores unsupported content types", () => {
    expect(classifyInbound(message({ kind: "other", typeId: "readReceipt" }), context)).toEqual({ kind: "ignore", reason: "unsupported content type readReceipt" })
  })
})

describe("backlogTurn", () => {
  const turn = (messageId: string, text: string, extra: Partial<InboundTurn> = {}): InboundTurn => ({
    messageId, conversationId: "c", senderInboxId: "a", senderName: "Alice", senderIsAgent: false, repliesToUs: false,
    weAreTheOnlyAgent: true, text, replyTo: messageId, timestamp: 1, ...extra,
  })
  it("is the one message itself, or nothing, when there is no backlog", () => {
    expect(backlogTurn([])).toBeUndefined()
    expect(backlogTurn([turn("m1", "hi")])).toEqual(turn("m1", "hi"))
  })
  it("answers the newest message with the earlier ones before it, oldest first, noting images", () => {
    const image = { filename: "cat.png", mimeType: "image/png", data: new Uint8Array([1]) }
    const combined = backlogTurn([turn("m1", "look", { image }), turn("m2", "where now?", { senderName: "Bob", replyTo: "m2" })])
    expect(combined).toMatchObject({ messageId: "m2", replyTo: "m2", senderName: "Bob" })
    expect(combined?.text).toBe(`${BACKLOG_HEADING}\nAlice: look [an image]\nBob: where now?`)
    expect(combined?.image).toBeUndefined()
  })
})
