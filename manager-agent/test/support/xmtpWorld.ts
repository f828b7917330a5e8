/**
 * A small Convos world on the fake XMTP node for integration tests and the benchmark: user clients, and a fake
 * pool whose "agents" are real XMTP clients (pre-warmed) that greet when added to a group and, in create mode,
 * open their own conversation with a Convos invite and accept joiners.
 */
import { Client, type DecodedMessage, type Signer } from "@xmtp/node-sdk"
import { Effect, Exit, Layer, Scope, Stream } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { toBytes } from "viem"
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts"
import { convosCodecs } from "../../../convos/contentTypes.ts"
import { makeXmtpChat } from "../../src/bot/XmtpChat.ts"
import { AgentPool, AgentPoolError, type ClaimedAgent, type SpawnClaim } from "../../src/ports/AgentPool.ts"
import type { Chat } from "../../src/ports/Chat.ts"

export const randomSigner = (): Signer => {
  const account = privateKeyToAccount(generatePrivateKey())
  return {
    type: "EOA",
    getIdentifier: () => ({ identifier: account.address.toLowerCase(), identifierKind: 0 }),
    signMessage: async (message: string) => toBytes(await account.signMessage({ message })),
  }
}

export const waitFor = async <T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 15))
  }
}

/** A person with a real XMTP client who records every message they receive. */
export interface User {
  readonly client: Client<unknown>
  readonly inbox: Array<DecodedMessage<unknown>>
  /** Texts received in one conversation, from others. */
  texts(conversationId: string): Array<{ sender: string; text: string; at: number }>
  close(): Promise<void>
}

export const makeUser = async (apiUrl: string): Promise<User> => {
  const client = (await Client.create(randomSigner(), {
    env: "local",
    apiUrl,
    dbPath: null,
    disableDeviceSync: true,
    codecs: convosCodecs() as never,
  })) as Client<unknown>
  const inbox: Array<DecodedMessage<unknown>> = []
  const received = new Map<string, number>()
  const stream = await client.conversations.streamAllMessages()
  void (async () => {
    for await (const message of stream) {
      if (message) {
        received.set(message.id, Date.now())
        inbox.push(message as DecodedMessage<unknown>)
      }
    }
  })()
  return {
    client,
    inbox,
    texts: (conversationId) =>
      inbox
        .filter((m) => m.conversationId === conversationId && m.senderInboxId !== client.inboxId && typeof m.content === "string")
        .map((m) => ({ sender: m.senderInboxId, text: m.content as string, at: received.get(m.id) ?? 0 })),
    close: async () => {
      await stream.end()
      await client.close()
    },
  }
}

interface FakeAgent {
  readonly chat: Chat["Service"]
  readonly lobby: { readonly conversationId: string; readonly inviteUrl: string }
  name: string
  scope: Scope.Closeable
}

export interface XmtpPoolState {
  readonly claims: Array<SpawnClaim>
  readonly killed: Array<string>
  /** Agents' greeting times by instance id (ms since epoch, when sent). */
  readonly greetedAt: Map<string, number>
}

/**
 * A fake pool of real XMTP agents. `warm` agents are created up front (a warm pool); a claim hands one out
 * instantly, like the real pool's SKIP LOCKED claim.
 */
export const makeXmtpPool = async (options: { readonly apiUrl: string; readonly warm: number }) => {
  const root = mkdtempSync(join(tmpdir(), "manager-agents-"))
  const idle: Array<FakeAgent & { readonly instanceId: string }> = []
  const busy = new Map<string, FakeAgent>()
  const state: XmtpPoolState = { claims: [], killed: [], greetedAt: new Map() }
  let next = 0

  const startAgent = async () => {
    const instanceId = `agent-${++next}`
    const scope = Effect.runSync(Scope.make())
    const { chat, lobby } = await Effect.runPromise(
      makeXmtpChat({ stateDir: join(root, instanceId), env: "local", apiUrl: options.apiUrl, name: "Agent" }).pipe(
        Scope.provide(scope),
      ),
    )
    const agent: FakeAgent & { readonly instanceId: string } = { instanceId, chat, lobby, name: "Agent", scope }
    // The agent's life: greet in every group it is added to (it also accepts joiners of its own conversation).
    Effect.runFork(
      chat.events.pipe(
        Stream.runForEach((event) =>
          event._tag === "JoinedGroup"
            ? chat.sendText(event.conversationId, `Hi everyone, I'm ${agent.name}!`).pipe(
                Effect.tap(() => Effect.sync(() => state.greetedAt.set(instanceId, Date.now()))),
              )
            : Effect.void,
        ),
        Effect.ignore,
        Scope.provide(scope),
      ),
    )
    return agent
  }

  const agents = await Promise.all(Array.from({ length: options.warm }, startAgent))
  idle.push(...agents)

  const layer = Layer.succeed(
    AgentPool,
    AgentPool.of({
      claim: (request) =>
        Effect.suspend(() => {
          state.claims.push(request)
          const agent = idle.shift()
          if (!agent) return Effect.fail(new AgentPoolError({ reason: "no_idle", message: "empty" }))
          agent.name = request.agentName
          busy.set(agent.instanceId, agent)
          const result: ClaimedAgent = {
            instanceId: agent.instanceId,
            agentName: request.agentName,
            inboxId: agent.chat.selfInboxId,
            status: "claimed",
            conversationId: request.mode === "create" ? agent.lobby.conversationId : (request.conversationId ?? null),
            inviteUrl: request.mode === "create" ? agent.lobby.inviteUrl : null,
            joined: true,
          }
          return Effect.succeed(result)
        }),
      kill: (instanceId) =>
        Effect.suspend(() => {
          const agent = busy.get(instanceId)
          if (!agent) return Effect.fail(new AgentPoolError({ reason: "not_found", message: "unknown" }))
          busy.delete(instanceId)
          state.killed.push(instanceId)
          return Scope.close(agent.scope, Exit.void)
        }),
      reconfigure: (instanceId, change) =>
        Effect.sync(() => {
          const agent = busy.get(instanceId)
          if (agent && change.agentName) agent.name = change.agentName
        }),
    }),
  )

  return {
    layer,
    state,
    close: async () => {
      for (const agent of [...idle, ...busy.values()]) await Effect.runPromise(Scope.close(agent.scope, Exit.void))
      rmSync(root, { recursive: true, force: true })
    },
  }
}
