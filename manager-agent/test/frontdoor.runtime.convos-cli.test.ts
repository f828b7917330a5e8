/**
 * (d) of the front door with a real agent: a CLI user (the official `convos` CLI on the fake node at localhost:5556)
 * brings the manager into a group, spawns a real runtime agent there, talks to it, and removes it. Written against
 * the runtime of this branch; its answers are the runtime's conduct, so this file stays apart from the fast CLI e2e
 * and can be re-run after the runtime changes. Slow: one gateway start.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { CLI_PORT, cliUser, type CliUser } from "./support/convosCli.ts"
import { READY_TIMEOUT, startRuntimeProduct, type RuntimeProduct } from "./support/runtimeProduct.ts"
import { waitFor } from "./support/xmtpWorld.ts"
import { rmSync } from "node:fs"

interface CliMessage {
  readonly senderInboxId: string
  readonly contentType: { readonly typeId: string }
  readonly content: unknown
}

let product: RuntimeProduct
let alice: CliUser

beforeAll(async () => {
  product = await startRuntimeProduct({ port: CLI_PORT })
  alice = cliUser("alice")
}, READY_TIMEOUT + 60_000)

afterAll(async () => {
  await product?.close()
  if (alice) rmSync(alice.home, { recursive: true, force: true })
}, 120_000)

/** Texts and replies in a conversation as the CLI user reads them, oldest first. */
const said = async (conversationId: string) => {
  const messages = await alice.json<Array<CliMessage>>("conversation", "messages", conversationId, "--sync", "--direction", "ascending")
  return messages.flatMap((m) => {
    if (m.contentType.typeId === "text" && typeof m.content === "string") return [{ sender: m.senderInboxId, text: m.content }]
    // The CLI renders a reply as one string, `reply to "<quoted>" (<id>): <text>` or `reply to <id>: <text>`.
    if (m.contentType.typeId === "reply" && typeof m.content === "string") {
      return [{ sender: m.senderInboxId, text: m.content.replace(/^reply to (?:"[\s\S]*" \([0-9a-f-]+\)|[0-9a-f-]+): /, "") }]
    }
    return []
  })
}
const until = <T>(probe: () => Promise<T | undefined>, what: string) => waitFor(probe, what, 90_000)
const members = async (conversationId: string) =>
  (await alice.json<{ profiles: Array<{ inboxId: string }> }>("conversation", "profiles", conversationId)).profiles.map((p) => p.inboxId)

/** Internal things that must never reach a chat: long hex ids, stack frames, error names, tokens, gateway notices. */
const INTERNAL = /[0-9a-f]{16,}|\bat \S+:\d+|Error\b|token|secret|stack|gateway|session/i

describe("(d) a real agent in a CLI user's group", () => {
  it('spawn → joins and greets; "Trip Planner, …" and an unnamed question to the only agent are answered; remove → the reply says it left or is leaving, and it leaves', async () => {
    const manager = product.lobby.inboxId
    const joined = await alice.json<{ conversationId: string; inboxId: string }>("conversations", "join", product.lobby.inviteUrl, "--timeout", "60")
    const group = await alice.json<{ conversationId: string; invite: { url: string } }>("conversations", "create", "--name", "Alice's trip")
    const id = group.conversationId
    await alice.run("conversation", "send-text", joined.conversationId, `join this ${group.invite.url}`)
    await until(async () => {
      await alice.run("conversations", "process-join-requests", "--conversation", id)
      return (await members(id)).includes(manager) || undefined
    }, "the manager in the group")

    await alice.run("conversation", "send-text", id, "spawn a trip planner here")
    const agent = await until(
      async () => (await said(id)).find((m) => m.sender !== manager && m.sender !== joined.inboxId && m.text.startsWith("Hello everyone, I'm Trip Planner"))?.sender,
      "the agent's greeting",
    )
    expect(await members(id)).toContain(agent)

    await alice.run("conversation", "send-text", id, "Trip Planner, any tips for Kyoto? CUE-NAMED")
    await until(async () => (await said(id)).some((m) => m.sender === agent && m.text.includes("Answer to CUE-NAMED")) || undefined, "the answer to the named question")
    await alice.run("conversation", "send-text", id, "what should we pack? CUE-UNNAMED")
    await until(async () => (await said(id)).some((m) => m.sender === agent && m.text.includes("Answer to CUE-UNNAMED")) || undefined, "the answer to the unnamed question")

    await alice.run("conversation", "send-text", id, "remove the trip planner")
    const reply = await until(
      async () => (await said(id)).find((m) => m.sender === manager && /^Trip Planner .*shut down/.test(m.text))?.text,
      "the removal reply",
    )
    // The manager is no admin in a CLI user's group: the agent asks to leave as its slot goes, and alice's client
    // (the group's super admin) removes it when it syncs, maybe before the manager looked at the list.
    expect([
      "Trip Planner has left and been shut down.",
      "Trip Planner is shut down and has asked to leave; a group admin's app takes it off the member list when it next syncs.",
    ]).toContain(reply)
    await until(async () => {
      await said(id) // a sync, which is when alice's client handles the leave request
      return !(await members(id)).includes(agent) || undefined
    }, "the agent off the member list")
    // Nothing internal from the manager or the agent reached the chat, the removal included.
    for (const m of await said(id)) if (m.sender !== joined.inboxId) expect(m.text).not.toMatch(INTERNAL)
  }, READY_TIMEOUT)
})
