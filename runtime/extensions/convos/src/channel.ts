/**
 * The `convos` ChannelPlugin: wiring only. One account per agent slot (`channels.convos.accounts.<slotId>`, never
 * `default`); the gateway starts each account, which opens that slot's own XMTP transport, starts its own
 * ConvosInstance (streaming + warm-up turn) and blocks until the gateway stops it. Nothing is shared between accounts
 * but the plugin runtime: every instance lives in the `ConvosAccounts` registry the entry creates.
 */
import { join } from "node:path"
import type { ChannelPlugin, PluginRuntime } from "openclaw/plugin-sdk/channel-core"
import type { ContractDecoders } from "./binding.ts"
import { fileBindingStore } from "./bindingStore.ts"
import { CHANNEL_ID, createTurnRunner } from "./inbound.ts"
import { ConvosInstance, conversationIdOfTarget, errorMessage, type InstanceLog } from "./instance.ts"
import { startReminderScheduler } from "./reminders.ts"
import { type AccountSettings, accountIdsOf, accountSettingsOf, type ConvosSettings, type HostSettings } from "./settings.ts"
import { boundSkillsIn, capabilityPrompt, grantedSkills, searchAccessOf } from "./skills.ts"
import type { ConvosTransport } from "./transport.ts"

/** OpenClaw's implicit account: never a slot, so a send without an account can never pick one. */
const NO_ACCOUNT = "default"

export interface ResolvedConvosAccount {
  readonly accountId: string
  readonly enabled: boolean
  readonly configured: boolean
}

/** The plugin's state, one per plugin load: each running account's instance, and why an account failed to start. */
export interface ConvosAccounts {
  readonly instances: Map<string, ConvosInstance>
  readonly startupErrors: Map<string, string>
  runtime: PluginRuntime | undefined
  /** The host is shutting down: every account was stopped, none may start or send again. */
  closed: boolean
}

export const createConvosAccounts = (): ConvosAccounts => ({ instances: new Map(), startupErrors: new Map(), runtime: undefined, closed: false })

const WARMUP_PEER = "warmup-scratch"

/** The instance that may send for `accountId`; refuses a missing or unknown account (never falls back to another). */
export const instanceForSend = (accounts: ConvosAccounts, accountId: string | null | undefined): ConvosInstance => {
  if (accountId === null || accountId === undefined || accountId === "" || accountId === NO_ACCOUNT)
    throw new Error("convos: refusing to send without an account (every send names its agent's own account)")
  const instance = accounts.closed ? undefined : accounts.instances.get(accountId)
  if (!instance) throw new Error(`convos: account ${accountId} is not running in this gateway`)
  return instance
}

export const createConvosChannel = (deps: {
  readonly accounts: ConvosAccounts
  readonly hostSettings: () => HostSettings
  readonly decoders: (host: HostSettings) => Promise<ContractDecoders>
  readonly createTransport: (settings: ConvosSettings) => Promise<ConvosTransport>
}): ChannelPlugin<ResolvedConvosAccount> => ({
  id: CHANNEL_ID,
  meta: {
    id: CHANNEL_ID,
    label: "Convos",
    selectionLabel: "Convos (XMTP)",
    docsPath: "/channels/convos",
    blurb: "End-to-end encrypted Convos group chats over XMTP.",
    // A reply announced into a session goes out as that session's own account, never a null (default) one.
    preferSessionLookupForAnnounceTarget: true,
  },
  capabilities: { chatTypes: ["group"], reactions: true, media: true, threads: false },
  // Adding, changing or disabling one slot's account restarts that account only, never its co-tenants.
  reload: { configPrefixes: ["channels.convos"], accountScopedRestart: true },
  config: {
    listAccountIds: (cfg) => accountIdsOf(cfg),
    resolveAccount: (cfg, accountId) => {
      const account = accountSettingsOf(cfg, accountId ?? NO_ACCOUNT)
      return { accountId: accountId ?? NO_ACCOUNT, enabled: account?.enabled === true, configured: account !== undefined }
    },
    defaultAccountId: () => NO_ACCOUNT,
    isEnabled: (account) => account.enabled,
    isConfigured: (account) => account.configured,
  },
  messaging: {
    normalizeTarget: conversationIdOfTarget,
    targetResolver: {
      looksLikeId: (_raw: string, normalized?: string) => /^[0-9a-f]{32}$/.test(normalized ?? ""),
      hint: "a Convos conversation id (32 hex characters)",
    },
  },
  outbound: {
    deliveryMode: "direct",
    textChunkLimit: 4000,
    sendText: async ({ to, text, accountId }) => {
      const messageId = await instanceForSend(deps.accounts, accountId).sendToBound(to, text)
      return { channel: CHANNEL_ID, messageId }
    },
  },
  gateway: {
    startAccount: async (ctx) => {
      const accountId = ctx.accountId
      // The gateway may not hand us a log sink; its console goes to the host's log either way.
      const tag = `[convos ${accountId}]`
      const log: InstanceLog = {
        info: (m) => (ctx.log ? ctx.log.info(`${tag} ${m}`) : console.log(`${tag} ${m}`)),
        warn: (m) => (ctx.log ? ctx.log.warn(`${tag} ${m}`) : console.warn(`${tag} ${m}`)),
        error: (m) => (ctx.log ? ctx.log.error(`${tag} ${m}`) : console.error(`${tag} ${m}`)),
      }
      const { accounts } = deps
      if (accounts.closed) return
      log.info("starting")
      const runtime = accounts.runtime
      if (!runtime) throw new Error("convos: plugin runtime was not set")
      let instance: ConvosInstance
      try {
        const account: AccountSettings | undefined = accountSettingsOf(ctx.cfg, accountId)
        if (!account?.enabled) throw new Error(`no enabled account ${accountId} in channels.convos.accounts`)
        const host = deps.hostSettings()
        const settings: ConvosSettings = { ...host, ...account }
        const decode = await deps.decoders(host)
        const runTurn = createTurnRunner(runtime, {
          accountId,
          mediaDir: join(settings.stateDir, "media"),
          onError: (m) => log.error(m),
          extraSystemPrompt: () =>
            capabilityPrompt({
              slotId: accountId,
              stateDir: settings.stateDir,
              skills: grantedSkills(boundSkillsIn(settings.stateDir), settings.tools),
              search: searchAccessOf(runtime.config.current(), accountId),
            }),
        })
        // The first agent turn after start is 10-20x slower than later ones: pay it now, in a scratch session,
        // while the XMTP client opens and registers (the two do not depend on each other). Not when a claim already
        // waits for this slot: its join comes first, and its greeting is that first turn.
        const warmUp = settings.modelConfigured && settings.warmUp
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
          : undefined
        // Observed by the instance; never an unhandled rejection if the transport fails first.
        warmUp?.catch(() => undefined)
        const transport = await deps.createTransport(settings)
        instance = new ConvosInstance({
          transport,
          store: fileBindingStore(settings.stateDir),
          decode,
          runTurn,
          modelConfigured: settings.modelConfigured,
          joinWaitMs: settings.joinWaitMs,
          log,
          ...(warmUp ? { warmUp: () => warmUp } : {}),
        })
        await instance.start()
      } catch (error) {
        accounts.startupErrors.set(accountId, errorMessage(error))
        log.error(`start failed: ${errorMessage(error)}`)
        throw error
      }
      accounts.instances.set(accountId, instance)
      accounts.startupErrors.delete(accountId)
      log.info(`streaming as inbox ${instance.status().inboxId}`)
      // Its reminders go to its own conversation only (whatever the reminder says).
      const started = instance
      const reminders = startReminderScheduler({
        stateDir: accountSettingsOf(ctx.cfg, accountId)?.stateDir ?? "",
        post: async (text) => {
          const conversationId = started.status().conversationId
          if (conversationId === null) throw new Error("this agent is in no conversation")
          await started.sendToBound(conversationId, text)
        },
        log,
      })
      await new Promise<void>((resolve) => {
        if (ctx.abortSignal.aborted) return resolve()
        ctx.abortSignal.addEventListener("abort", () => resolve(), { once: true })
      })
      reminders.stop()
      await stopAccount(accounts, accountId, instance, log)
    },
  },
})

/** Stops one account's instance (once), so nothing more is sent as it. */
export const stopAccount = async (accounts: ConvosAccounts, accountId: string, instance: ConvosInstance, log: Pick<InstanceLog, "warn">): Promise<void> => {
  if (accounts.instances.get(accountId) !== instance) return
  accounts.instances.delete(accountId)
  await instance.stop().catch((error: unknown) => log.warn(`stop failed: ${errorMessage(error)}`))
}
