/**
 * One agent turn through OpenClaw's inbound pipeline: route → context (sender name and inbox, per-conversation
 * system prompt) → session record → dispatch, with replies handed to `deliver`. This is the only file that calls
 * the plugin runtime's channel API, so unit tests fake exactly this surface.
 */
import { mkdir, writeFile } from "node:fs/promises"
import { join } from "node:path"
import type { OpenClawConfig, PluginRuntime } from "openclaw/plugin-sdk/channel-core"
import type { TurnRequest, TurnRunner } from "./instance.ts"
import type { PayloadFlags } from "./notices.ts"

export const CHANNEL_ID = "convos"

/** The part of the plugin runtime this channel uses. */
export interface InboundRuntime {
  readonly config: Pick<PluginRuntime["config"], "current">
  readonly channel: {
    readonly routing: Pick<PluginRuntime["channel"]["routing"], "resolveAgentRoute">
    readonly session: Pick<PluginRuntime["channel"]["session"], "resolveStorePath" | "recordInboundSession">
    readonly reply: Pick<PluginRuntime["channel"]["reply"], "finalizeInboundContext" | "dispatchReplyWithBufferedBlockDispatcher">
  }
}

export interface TurnRunnerOptions {
  readonly accountId: string
  /** Where inbound images are written for the agent to read. */
  readonly mediaDir: string
  readonly onError: (message: string) => void
  /** Added to every turn's system prompt: the slot's capabilities and what it remembers (skills.ts). */
  readonly extraSystemPrompt?: () => string
}

const payloadFlags = (payload: PayloadFlags): PayloadFlags => ({
  isError: payload.isError,
  isStatusNotice: payload.isStatusNotice,
  isCompactionNotice: payload.isCompactionNotice,
  isFallbackNotice: payload.isFallbackNotice,
  isReasoning: payload.isReasoning,
  isCommentary: payload.isCommentary,
})

const safeName = (name: string) => name.replace(/[^\w.-]+/g, "_").slice(-80) || "image"

export const createTurnRunner = (runtime: InboundRuntime, options: TurnRunnerOptions): TurnRunner => async (request: TurnRequest) => {
  // The runtime hands out a deep-readonly view; the reply API takes the plain config type.
  const cfg = runtime.config.current() as OpenClawConfig
  const route = runtime.channel.routing.resolveAgentRoute({
    cfg,
    channel: CHANNEL_ID,
    accountId: options.accountId,
    peer: { kind: "group", id: request.conversationId },
  })
  let media: Record<string, string> = {}
  if (request.image) {
    await mkdir(options.mediaDir, { recursive: true, mode: 0o700 })
    const path = join(options.mediaDir, `${safeName(request.messageId)}-${safeName(request.image.filename)}`)
    await writeFile(path, request.image.data, { mode: 0o600 })
    media = { MediaPath: path, MediaType: request.image.mimeType }
  }
  const ctx = runtime.channel.reply.finalizeInboundContext({
    Body: request.text,
    BodyForAgent: request.text,
    RawBody: request.text,
    CommandBody: request.text,
    From: `${CHANNEL_ID}:${request.senderInboxId}`,
    To: `${CHANNEL_ID}:${request.conversationId}`,
    SessionKey: route.sessionKey,
    AccountId: options.accountId,
    ChatType: "group",
    ConversationLabel: `convos:${request.conversationId.slice(0, 8)}`,
    SenderName: request.senderName,
    SenderId: request.senderInboxId,
    Provider: CHANNEL_ID,
    Surface: CHANNEL_ID,
    MessageSid: request.messageId,
    Timestamp: request.timestamp,
    OriginatingChannel: CHANNEL_ID,
    OriginatingTo: `${CHANNEL_ID}:${request.conversationId}`,
    GroupSystemPrompt: [request.systemPrompt, options.extraSystemPrompt?.() ?? ""].filter((part) => part !== "").join("\n\n"),
    CommandAuthorized: false,
    ...media,
  })
  const storePath = runtime.channel.session.resolveStorePath(cfg.session?.store, { agentId: route.agentId })
  await runtime.channel.session.recordInboundSession({
    storePath,
    sessionKey: route.sessionKey,
    ctx,
    onRecordError: (error: unknown) => options.onError(`session record failed: ${String(error)}`),
  })
  await runtime.channel.reply.dispatchReplyWithBufferedBlockDispatcher({
    ctx,
    cfg,
    dispatcherOptions: {
      deliver: async (payload) => {
        const text = payload.text?.trim()
        // The flags mark OpenClaw's own notices; the instance keeps those out of the chat.
        if (text) await request.deliver(text, payloadFlags(payload))
      },
      onError: (error: unknown) => options.onError(`reply dispatch failed: ${String(error)}`),
    },
  })
}
