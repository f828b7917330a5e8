import { describe, expect, it } from "vitest"
import { classifyOutbound, describeDropped } from "./notices.ts"

/** Notices as OpenClaw 2026.9.6 writes them (`openclaw/dist`), some built from error messages. */
const openClawNotices = [
  "⚠️ Gateway is restarting. Please wait a few seconds and try again.",
  "⚠️ Previous run is still shutting down. Please try again in a moment.",
  "⚠️ Something went wrong while processing your request. Please try again, or use /new to start a fresh session.",
  "⚠️ The model request was rate-limited. Please try again in a few minutes.",
  "⚠️ Agent couldn't generate a response. Please try again.",
  "⚠️ This turn was interrupted because it stopped making progress. Please try again.",
  "⚠️ Memory maintenance temporarily failed; continuing your reply.",
  "⚠️ Context 91% full",
  "⚠ LLM connection failed. Original error: ECONNREFUSED",
  "❌ /config set|unset requires operator.admin for gateway clients.",
  "  ⚠️ Skills truncated: included 3 of 9.",
]

describe("classifyOutbound", () => {
  it("drops OpenClaw's notices by their sign, whatever they say", () => {
    for (const notice of openClawNotices) expect(classifyOutbound(notice), notice).toEqual({ send: false, reason: "gateway_notice" })
    expect(classifyOutbound("Gateway is restarting. Please wait a few seconds.")).toEqual({ send: false, reason: "gateway_notice" })
  })

  it("drops the restart-recovery notices OpenClaw sends through the channel's outbound after a crash", () => {
    for (const notice of [
      "I'm continuing your interrupted request now (the gateway has just restarted).  Don't be concerned with the lack of typing; I am working behind the scenes and I'll send a message when I'm done!",
      "I couldn't continue this session after a gateway restart. Your transcript is safe. In WebChat, use Resume in new session to continue it; in other channels, use /new or /reset to start a replacement session.",
      "I couldn’t confirm whether my previous reply reached this chat, so I won’t resend it automatically. Please ask for any missing remainder.",
    ])
      expect(classifyOutbound(notice), notice).toEqual({ send: false, reason: "gateway_notice" })
  })

  it("drops what the reply payload flags as not the assistant's answer, whatever the text", () => {
    for (const flag of ["isError", "isStatusNotice", "isCompactionNotice", "isFallbackNotice", "isReasoning", "isCommentary"])
      expect(classifyOutbound("Sure, here is the plan.", { [flag]: true }), flag).toEqual({ send: false, reason: "flagged_notice" })
    expect(classifyOutbound("Sure, here is the plan.", { isError: false })).toEqual({ send: true })
  })

  it("drops stack traces", () => {
    const stack = "TypeError: Cannot read properties of undefined (reading 'id')\n    at deliver (file:///app/runtime/extensions/convos/src/inbound.ts:80:12)\n    at async run (node:internal/x:1:2)"
    expect(classifyOutbound(stack)).toEqual({ send: false, reason: "stack_trace" })
    expect(classifyOutbound("    at /usr/lib/node_modules/openclaw/dist/index.js:12:5")).toEqual({ send: false, reason: "stack_trace" })
  })

  it("drops keys, tokens and ids", () => {
    for (const leak of [
      "my key is sk-or-v1-abcdefghijklmnop1234",
      "use Bearer 3f9a0c1d2e4b5a6978877665544332211",
      "-----BEGIN EC PRIVATE KEY-----",
      "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig",
      `your inbox is ${"ab12".repeat(16)}`,
      `conversation 0x${"9".repeat(64)}`,
      `id:${"c".repeat(32)}.`,
    ])
      expect(classifyOutbound(leak), leak).toEqual({ send: false, reason: "secret_or_id" })
  })

  it("lets ordinary replies through, warnings in the middle and short hex included", () => {
    for (const reply of [
      "Hello everyone, I'm Trip Planner! Ask me anything.",
      "Heads up ⚠️ the museum is closed on Mondays; try again Tuesday.",
      "The colour is #ff00aa and the flight is TP1234.",
      "Day 1: Alfama at 10:30, lunch at 13:00.",
      "PONG-before",
    ])
      expect(classifyOutbound(reply), reply).toEqual({ send: true })
  })
})

describe("describeDropped", () => {
  it("logs a notice's words but only the size of anything that may hold a secret", () => {
    expect(describeDropped("⚠️ Gateway is restarting.", "gateway_notice")).toBe('gateway_notice: "⚠️ Gateway is restarting."')
    expect(describeDropped("key sk-abcdefghijklmnopqrstu", "secret_or_id")).toBe("secret_or_id: 28 characters")
    expect(describeDropped(`⚠️ failed for ${"a".repeat(64)}`, "gateway_notice")).toBe("gateway_notice: 78 characters")
  })
})
