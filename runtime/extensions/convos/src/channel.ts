/**
 * The `convos` ChannelPlugin: wiring only. The gateway starts the account, which opens the XMTP transport, starts
 * the instance (streaming + warm-up turn) and blocks until the gateway stops it.
 */
import { join } from "node:path"
import type { ChannelPlugin, PluginRuntime } from "openclaw/plugin-sdk/channel-core"
import { fileBindingStore } from "./bindingStore.ts"
import { CHANNEL_ID, createTurnRunner } from "./inbound.ts"
import { ConvosInstance, errorMessage, type InstanceLog } from "./instance.ts"
import type { ConvosSettings } from "./settings.ts"
import type { ConvosTransport } from "./transport.ts"

export const ACCOUNT_ID = "default"

export interface ResolvedConvosAccount {
  readonly accountId: string
  readonly enabled: boolean
  readonly configured: boolean
}

/** Process-wide state shared by the channel, its control routes and outbound sends (one instance per process). */
export interface ChannelState {
  instance: ConvosInstance | undefined
  startupError: string | undefined
  runtime: PluginRuntime | undefined
}

export const channelState: ChannelState = { instance: undefined, startupError: undefined, runtime: undefined }

const WARMUP_PEER = "warmup-scratch"

export const createConvosChannel = (deps: {
  readonly settings: () => ConvosSettings
  readonly createTransport: (settings: ConvosSettings) => Promise<ConvosTransport>
}): ChannelPlugin<ResolvedConvosAccount> => ({
  id: CHANNEL_ID,
  meta: {
    id: CHANNEL_ID,
    label: "Convos",
    selectionLabel: "Convos (XMTP)",
    docsPath: "/channels/convos",
    blurb: "End-to-end encrypted Convos group chats over XMTP.",
  },
  capabilities: { chatTypes: ["group"], reactions: true, media: true, threads: false },
  config: {
    listAccountIds: () => [ACCOUNT_ID],
    resolveAccount: (_cfg, accountId) => ({ accountId: accountId ?? ACCOUNT_ID, enabled: true, configured: true }),
    defaultAccountId: () => ACCOUNT_ID,
    isConfigured: () => true,
  },
  messaging: {
    normalizeTarget: (raw: string) => raw.trim().replace(/^convos:/, "").toLowerCase(),
    targetResolver: {
      looksLikeId: (_raw: string, normalized?: string) => /^[0-9a-f]{32}$/.test(normalized ?? ""),
      hint: "a Convos conversation id (32 hex characters)",
    },
  },
  outbound: {
    deliveryMode: "direct",
    textChunkLimit: 4000,
    sendText: async ({ to, text }) => {
      const instance = channelState.instance
      if (!instance) throw new Error("the convos channel is not running in this process (send through the gateway)")
      const messageId = await instance.sendToBound(to, text)
      return { channel: CHANNEL_ID, messageId }
    },
  },
  gateway: {
    startAccount: async (ctx) => {
      // The gateway may not hand us a log sink; its console goes to the instance log either way.
      const log: InstanceLog = {
        info: (m) => (ctx.log ? ctx.log.info(`[convos] ${m}`) : console.log(`[convos] ${m}`)),
        warn: (m) => (ctx.log ? ctx.log.warn(`[convos] ${m}`) : console.warn(`[convos] ${m}`)),
        error: (m) => (ctx.log ? ctx.log.error(`[convos] ${m}`) : console.error(`[convos] ${m}`)),
      }
      log.info("starting the convos channel")
      const runtime = channelState.runtime
      if (!runtime) throw new Error("convos: plugin runtime was not set")
      let instance: ConvosInstance
      try {
        const settings = deps.settings()
        const runTurn = createTurnRunner(runtime, {
          accountId: ctx.accountId,
          mediaDir: join(settings.stateDir, "media"),
          onError: (m) => log.error(m),
        })
        // The first agent turn after start is 10-20x slower than later ones: pay it now, in a scratch session,
        // while the XMTP client opens and registers (the two do not depend on each other).
        const warmUp = settings.modelConfigured
          ? runTurn({
              conversationId: WARMUP_PEER,
              messageId: `warmup-${Date.now()}`,
              senderInboxId: "warmup",
              senderName: "Warm-up",
              text: "[System: start-up check. Reply with the single word OK.]",
              systemPrompt: "This is an internal start-up check, not a conversation.",
              timestamp: Date.now(),
              deliver: async () => {},
            })
          : Promise.resolve()
        // Observed by the instance; never an unhandled rejection if the transport fails first.
        warmUp.catch(() => undefined)
        const transport = await deps.createTransport(settings)
        instance = new ConvosInstance({
          transport,
          store: fileBindingStore(settings.stateDir),
          runTurn,
          modelConfigured: settings.modelConfigured,
          joinWaitMs: settings.joinWaitMs,
          log,
          warmUp: () => warmUp,
        })
        await instance.start()
      } catch (error) {
        channelState.startupError = errorMessage(error)
        log.error(`start failed: ${channelState.startupError}`)
        throw error
      }
      channelState.instance = instance
      channelState.startupError = undefined
      log.info(`streaming as inbox ${instance.status().inboxId}`)
      await new Promise<void>((resolve) => {
        if (ctx.abortSignal.aborted) return resolve()
        ctx.abortSignal.addEventListener("abort", () => resolve(), { once: true })
      })
      channelState.instance = undefined
      await instance.stop().catch((error: unknown) => log.warn(`stop failed: ${errorMessage(error)}`))
    },
  },
})
