/**
 * One agent turn through OpenClaw's inbound pipeline: route → context (sender name and inbox, per-conversation
 * system prompt) → session record → dispatch, with replies handed to `deliver`; run again when a config reload failed
 * it before it answered (`retriesTurn`). This is the only file that calls
 * the plugin runtime's channel API, so unit tests fake exactly this surface.
 */
import { mkdir, writeFile } from "node:fs/promises"
import { join } from "node:path"
import type { OpenClawConfig, PluginRuntime } from "openclaw/plugin-sdk/channel-core"
import { errorMessage, type TurnRequest, type TurnRunner } from "./instance.ts"
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

/** A turn runs at most this many times in all (see `retriesTurn`). */
export const MAX_TURN_ATTEMPTS = 3

/** How one attempt of a turn ended, as the channel sees it: a reply, only OpenClaw's error notice or a throw, nothing. */
export type AttemptOutcome = "answered" | "failed" | "silent"

/**
 * Whether a turn runs again. OpenClaw fails a turn it is still preparing when a config reload lands (a slot added
 * to or removed from the same host): it throws "prepared model runtime plugin generation was superseded" or "Plugin
 * convos was reloaded or disabled", or answers with its generic error notice. The message would go unanswered, so an
 * attempt that failed while the config changed runs again, on the new config.
 */
export const retriesTurn = (attempt: { readonly number: number; readonly outcome: AttemptOutcome; readonly configChanged: boolean }): boolean =>
  attempt.outcome === "failed" && attempt.configChanged && attempt.number < MAX_TURN_ATTEMPTS

export const createTurnRunner = (runtime: InboundRuntime, options: TurnRunnerOptions): TurnRunner => {
  const runOnce = runAttempt(runtime, options)
  return async (request: TurnRequest) => {
    for (let number = 1; ; number++) {
      const config = runtime.config.current()
      let answered = false
      let errored = false
      let thrown: { readonly error: unknown } | undefined
      try {
        // A later attempt is a new inbound to OpenClaw: the first may already count as handled in its dedupe.
        await runOnce(request, number === 1 ? request.messageId : `${request.messageId}-attempt${number}`, async (text, flags) => {
          if (flags?.isError) errored = true
          else answered = true
          await request.deliver(text, flags)
        })
      } catch (error) {
        thrown = { error }
      }
      const outcome: AttemptOutcome = answered ? "answered" : thrown || errored ? "failed" : "silent"
      if (!retriesTurn({ number, outcome, configChanged: runtime.config.current() !== config })) {
        if (thrown) throw thrown.error
        return
      }
      options.onError(`turn for ${request.messageId} failed while the config changed (${thrown ? errorMessage(thrown.error) : "an error notice"}); running it again`)
    }
  }
}

const runAttempt = (runtime: InboundRuntime, options: TurnRunnerOptions) => async (
  request: TurnRequest,
  messageSid: string,
  deliver: TurnRequest["deliver"],
) => {
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
    MessageSid: messageSid,
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
        if (text) await deliver(text, payloadFlags(payload))
      },
      onError: (error: unknown) => options.onError(`reply dispatch failed: ${String(error)}`),
    },
  })
}
