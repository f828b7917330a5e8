/**
 * A small Convos world on the fake XMTP node for integration tests and the benchmark: user clients, and a fake
 * pool whose "agents" are real `ConvosClient`s (pre-warmed) that behave like the runtime's side of the instance
 * contract: `add` → wait for exactly that welcome, then greet; `create` → a new conversation with an invite.
 */
import type { DecodedMessage } from "@xmtp/node-sdk"
import { Effect, Layer } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ConvosClient } from "../../../convos/client.ts"
import { openXmtp, type XmtpClient } from "../../../convos/client/sdk.ts"
import { AgentPool, AgentPoolError, type ClaimedAgent, type SpawnClaim } from "../../src/ports/AgentPool.ts"
import { randomSigner } from "../../../test/xmtp/randomSigner.ts"

export const waitFor = async <T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** A person with a plain XMTP client who records every message they receive (and when). */
export interface User {
  readonly client: XmtpClient
  /** Texts received in one conversation, from others. */
  texts(conversationId: string): Array<{ sender: string; text: string; at: number }>
  /** Texts and replies received in one conversation, from others. */
  said(conversationId: string): Array<{ sender: string; text: string; at: number; id: string; inReplyTo?: string }>
  /** The newest Convos profile name `inboxId` announced in the conversation. */
  profileName(conversationId: string, inboxId: string): string | undefined
  /** When this user saw `inboxId` added to the conversation (the membership commit reached them). */
  addedAt(conversationId: string, inboxId: string): number | undefined
  close(): Promise<void>
}

export const makeUser = async (apiUrl: string): Promise<User> => {
  const client = await openXmtp(randomSigner(), { env: "local", apiUrl, dbPath: null })
  const inbox: Array<{ message: DecodedMessage<unknown>; at: number }> = []
  const seen = new Set<string>()
  const receive = (message: DecodedMessage<unknown>) => {
    if (seen.has(message.id)) return
    seen.add(message.id)
    inbox.push({ message, at: Date.now() })
  }
  const stream = await client.conversations.streamAllMessages()
  void (async () => {
    for await (const message of stream) if (message) receive(message as DecodedMessage<unknown>)
  })()
  // XMTP's live stream can lose a message (libxmtp#2351); a real app re-reads its conversations, and so does this user.
  const startedNs = BigInt(Date.now() - 5_000) * 1_000_000n
  let sweeping = false
  const sweep = setInterval(() => {
    if (sweeping) return
    sweeping = true
    void (async () => {
      await client.conversations.syncAll()
      for (const conversation of await client.conversations.list()) {
        for (const message of await conversation.messages({ sentAfterNs: startedNs })) receive(message as DecodedMessage<unknown>)
      }
    })()
      .catch(() => undefined)
      .finally(() => (sweeping = false))
  }, 1_000)
  return {
    client,
    texts: (conversationId) =>
      inbox
        .filter(({ message: m }) => m.conversationId === conversationId && m.senderInboxId !== client.inboxId && typeof m.content === "string")
        .map(({ message: m, at }) => ({ sender: m.senderInboxId, text: m.content as string, at })),
    said: (conversationId) =>
      inbox.flatMap(({ message: m, at }) => {
        if (m.conversationId !== conversationId || m.senderInboxId === client.inboxId) return []
        const kind = m.contentType?.typeId
        if (kind === "text" && typeof m.content === "string") return [{ sender: m.senderInboxId, text: m.content, at, id: m.id }]
        const reply = m.content as { content?: unknown; referenceId?: string } | undefined
        if (kind !== "reply" || typeof reply?.content !== "string") return []
        return [{ sender: m.senderInboxId, text: reply.content, at, id: m.id, ...(reply.referenceId ? { inReplyTo: reply.referenceId } : {}) }]
      }),
    profileName: (conversationId, inboxId) =>
      inbox
        .filter(({ message: m }) =>
          m.conversationId === conversationId && m.senderInboxId === inboxId && m.contentType?.typeId === "profile_update"
        )
        .map(({ message: m }) => (m.content as { name?: string } | undefined)?.name)
        .at(-1),
    addedAt: (conversationId, inboxId) =>
      inbox.find(({ message: m }) => {
        const content = m.content as { addedInboxes?: Array<{ inboxId: string }> } | undefined
        return m.conversationId === conversationId && (content?.addedInboxes ?? []).some((a) => a.inboxId === inboxId)
      })?.at,
    close: async () => {
      clearInterval(sweep)
      await stream.end()
      await client.close()
    },
  }
}

/** A Convos client for a test party (a joiner, a creator). */
export const openConvos = (root: string, name: string, apiUrl: string) =>
  ConvosClient.open({ stateDir: join(root, name), env: "local", apiUrl, onError: () => {} })

export interface XmtpPoolState {
  readonly claims: Array<SpawnClaim>
  readonly killed: Array<string>
  /** When each claimed agent's greeting was sent (ms since epoch). */
  readonly greetedAt: Map<string, number>
  /** Inbox ids handed out, in claim order. */
  readonly claimedInboxes: Array<string>
}

/** The greeting an agent writes: from the (fake) model when given one, like the runtime's first turn. */
const greetingFor = async (agentName: string, modelUrl: string | undefined) => {
  if (!modelUrl) return `Hi everyone, I'm ${agentName}!`
  const response = await fetch(`${modelUrl}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer test" },
    body: JSON.stringify({
      model: "fake-model",
      messages: [
        { role: "system", content: `You are ${agentName}.` },
        { role: "user", content: "You were just added to a group chat: greet everyone in one line." },
      ],
    }),
  })
  const body = (await response.json()) as { choices: Array<{ message: { content: string } }> }
  return body.choices[0]!.message.content
}

/** A fake pool of `warm` real XMTP agents, created up front; a claim hands one out at once. */
export const makeXmtpPool = async (options: { readonly apiUrl: string; readonly warm: number; readonly greetingModelUrl?: string }) => {
  const root = mkdtempSync(join(tmpdir(), "manager-agents-"))
  const state: XmtpPoolState = { claims: [], killed: [], greetedAt: new Map(), claimedInboxes: [] }
  const agents = await Promise.all(
    Array.from({ length: options.warm }, async (_, i) => ({ instanceId: `agent-${i + 1}`, client: await openConvos(root, `agent-${i + 1}`, options.apiUrl) })),
  )
  const idle = [...agents]
  const busy = new Map<string, (typeof agents)[number]>()

  const provision = async (agent: (typeof agents)[number], request: SpawnClaim): Promise<ClaimedAgent> => {
    const base = { instanceId: agent.instanceId, agentName: request.agentName, inboxId: agent.client.inboxId, status: "claimed" as const }
    if (request.mode === "create") {
      const created = await agent.client.createConversation({
        name: request.agentName,
        permissions: "all_members",
        profile: { name: request.agentName, isAgent: true },
      })
      return { ...base, conversationId: created.conversationId, inviteUrl: created.inviteUrl, joined: true }
    }
    const conversationId = request.conversationId!
    // Like the runtime: bind only to the welcome for exactly this conversation, then greet on its own.
    void agent.client
      .expectAdd({ conversationId, ...(request.addedBy ? { addedBy: request.addedBy } : {}), timeoutMs: 30_000 })
      .then(() => greetingFor(request.agentName, options.greetingModelUrl))
      .then((greeting) => agent.client.sendText(conversationId, greeting))
      .then(() => void state.greetedAt.set(agent.instanceId, Date.now()))
      .catch(() => {})
    return { ...base, conversationId, inviteUrl: null, joined: true }
  }

  const layer = Layer.succeed(
    AgentPool,
    AgentPool.of({
      claim: (request) =>
        Effect.suspend(() => {
          state.claims.push(request)
          const agent = idle.shift()
          if (!agent) return Effect.fail(new AgentPoolError({ reason: "no_idle", message: "empty" }))
          busy.set(agent.instanceId, agent)
          state.claimedInboxes.push(agent.client.inboxId)
          return Effect.tryPromise({
            try: () => provision(agent, request),
            catch: (cause) => new AgentPoolError({ reason: "provision_failed", message: String(cause) }),
          })
        }),
      kill: (instanceId) =>
        Effect.suspend(() => {
          const agent = busy.get(instanceId)
          if (!agent) return Effect.fail(new AgentPoolError({ reason: "not_found", message: "unknown" }))
          busy.delete(instanceId)
          state.killed.push(instanceId)
          return Effect.promise(() => agent.client.close())
        }),
      reconfigure: () => Effect.void,
    }),
  )

  return {
    layer,
    state,
    close: async () => {
      await Promise.allSettled(agents.map((a) => a.client.close()))
      rmSync(root, { recursive: true, force: true })
    },
  }
}
