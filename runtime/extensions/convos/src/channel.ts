/**
 * The `convos` ChannelPlugin: wiring only. One account per agent slot (`channels.convos.accounts.<slotId>`, never
 * `default`); running an account opens that slot's own XMTP transport and starts its own ConvosInstance (streaming +
 * warm-up turn) until it is stopped. The gateway starts the accounts its config has when it starts; the plugin starts
 * and stops the ones added or removed later (accountSync.ts). Nothing is shared between accounts but the plugin
 * runtime: every instance lives in the `ConvosAccounts` registry the entry creates.
 */
import { join } from "node:path"
import type { ChannelPlugin, PluginRuntime } from "openclaw/plugin-sdk/channel-core"
import { type ContractDecoders, warmsUpOnStart } from "./binding.ts"
import { fileBindingStore } from "./bindingStore.ts"
import { CHANNEL_ID, createTurnRunner } from "./inbound.ts"
import { type RunningAccount, settingsKeyOf, syncAccounts } from "./accountSync.ts"
import { ConvosInstance, conversationIdOfTarget, errorMessage, type InstanceLog } from "./instance.ts"
import { startReminderScheduler } from "./reminders.ts"
import { accountIdsOf, accountSettingsOf, type ConvosSettings, type HostSettings } from "./settings.ts"
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
  /** Every account started or starting in this load (by the gateway or the plugin), with what stops it. */
  readonly running: Map<string, RunningAccount>
  /** Accounts the gateway itself stopped (until it starts them again): the plugin's account sync leaves them alone. */
  readonly gatewayStopped: Set<string>
  readonly startupErrors: Map<string, string>
  runtime: PluginRuntime | undefined
  /** The host is shutting down: every account was stopped, none may start or send again. */
  closed: boolean
  /** The plugin's own account sync runs (ensureAccountSync). */
  syncing: boolean
}

export const createConvosAccounts = (): ConvosAccounts => ({
  instances: new Map(),
  running: new Map(),
  gatewayStopped: new Set(),
  startupErrors: new Map(),
  runtime: undefined,
  closed: false,
  syncing: false,
})

const WARMUP_PEER = "warmup-scratch"

/** The instance that may send for `accountId`; refuses a missing or unknown account (never falls back to another). */
export const instanceForSend = (accounts: ConvosAccounts, accountId: string | null | undefined): ConvosInstance => {
  if (accountId === null || accountId === undefined || accountId === "" || accountId === NO_ACCOUNT)
    throw new Error("convos: refusing to send without an account (every send names its agent's own account)")
  const instance = accounts.closed ? undefined : accounts.instances.get(accountId)
  if (!instance) throw new Error(`convos: account ${accountId} is not running in this gateway`)
  return instance
}

/** What the channel runs its accounts with. */
export interface ChannelDeps {
  readonly accounts: ConvosAccounts
  readonly hostSettings: () => HostSettings
  readonly decoders: (host: HostSettings) => Promise<ContractDecoders>
  readonly createTransport: (settings: ConvosSettings) => Promise<ConvosTransport>
}

export const createConvosChannel = (deps: ChannelDeps): ChannelPlugin<ResolvedConvosAccount> => ({
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
  // Slots come and go under `channels.convos.accounts` without a channel reload: the gateway holds a channel reload
  // until no turn runs anywhere on the host (up to 5 minutes), so the plugin starts and stops those accounts itself
  // (accountSync.ts). Any other change restarts only the accounts it touches.
  reload: { configPrefixes: ["channels.convos"], noopPrefixes: ["channels.convos.accounts"], accountScopedRestart: true },
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
      const log = accountLog(accountId, ctx.log)
      const { accounts } = deps
      if (ctx.abortSignal.aborted) return
      accounts.gatewayStopped.delete(accountId)
      // Already started by the plugin when its account appeared in the config: the gateway's stop stops it too.
      const stop = accounts.running.get(accountId)?.stop ?? new AbortController()
      ctx.abortSignal.addEventListener("abort", () => {
        accounts.gatewayStopped.add(accountId)
        stop.abort()
      }, { once: true })
      const run = accounts.running.has(accountId) ? undefined : runAccount(deps, accountId, ctx.cfg, log, stop)
      ensureAccountSync(deps)
      await run
      // An account the plugin stopped (it left the config) stays "running" for the gateway until the gateway stops it:
      // returning would make the gateway restart an account that no longer exists.
      await untilAborted(ctx.abortSignal)
    },
  },
})

/**
 * Starts the plugin's own account sync (accountSync.ts), once per load. Called from the first account start and the
 * first control request: both run in the gateway's own load of this plugin, the one holding the accounts.
 */
export const ensureAccountSync = (deps: ChannelDeps): void => {
  const { accounts } = deps
  const runtime = accounts.runtime
  if (accounts.syncing || accounts.closed || runtime === undefined) return
  accounts.syncing = true
  syncAccounts({
    current: () => runtime.config.current(),
    running: accounts.running,
    gatewayStopped: accounts.gatewayStopped,
    start: (accountId, cfg) => runAccount(deps, accountId, cfg, accountLog(accountId), new AbortController()),
    closed: () => accounts.closed,
    log: (message) => console.log(message),
  })
}

const untilAborted = (signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve()
    signal.addEventListener("abort", () => resolve(), { once: true })
  })

/** Every line an account logs is tagged with it; the gateway may not hand us a log sink (its console goes to the host's log). */
export const accountLog = (accountId: string, sink?: { info: (m: string) => void; warn: (m: string) => void; error: (m: string) => void }): InstanceLog => {
  const tag = `[convos ${accountId}]`
  return {
    info: (m) => (sink ? sink.info(`${tag} ${m}`) : console.log(`${tag} ${m}`)),
    warn: (m) => (sink ? sink.warn(`${tag} ${m}`) : console.warn(`${tag} ${m}`)),
    error: (m) => (sink ? sink.error(`${tag} ${m}`) : console.error(`${tag} ${m}`)),
  }
}

/**
 * Runs one account until `stop` aborts: opens the slot's own XMTP transport, starts its ConvosInstance (streaming +
 * warm-up turn) and its reminders. Registered in `accounts.running` from its first line, so the gateway and the
 * plugin's own account sync (accountSync.ts) never start the same account twice. Rejects if it cannot start.
 */
export const runAccount = async (
  deps: ChannelDeps,
  accountId: string,
  cfg: unknown,
  log: InstanceLog,
  stop: AbortController,
): Promise<void> => {
  const { accounts } = deps
  if (accounts.closed) return
  const account = accountSettingsOf(cfg, accountId)
  const entry: RunningAccount = { stop, settings: settingsKeyOf(account) }
  accounts.running.set(accountId, entry)
  try {
    log.info("starting")
    const runtime = accounts.runtime
    if (!runtime) throw new Error("convos: plugin runtime was not set")
    let instance: ConvosInstance
    try {
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
      // waits for this slot (its greeting is that first turn), nor for a claimed slot starting again (binding.ts).
      const store = fileBindingStore(settings.stateDir)
      const warmUp = warmsUpOnStart(settings, store.load().binding)
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
        store,
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
      stateDir: account?.stateDir ?? "",
      post: async (text) => {
        const conversationId = started.status().conversationId
        if (conversationId === null) throw new Error("this agent is in no conversation")
        await started.sendToBound(conversationId, text)
      },
      log,
    })
    // Stopped meanwhile (its account left the config, or the host closed every channel): nothing more as it.
    if (!accounts.closed) await untilAborted(stop.signal)
    reminders.stop()
    await stopAccount(accounts, accountId, instance, log)
  } finally {
    if (accounts.running.get(accountId) === entry) accounts.running.delete(accountId)
  }
}

/** Stops one account's instance (once), so nothing more is sent as it. */
export const stopAccount = async (accounts: ConvosAccounts, accountId: string, instance: ConvosInstance, log: Pick<InstanceLog, "warn">): Promise<void> => {
  if (accounts.instances.get(accountId) !== instance) return
  accounts.instances.delete(accountId)
  await instance.stop().catch((error: unknown) => log.warn(`stop failed: ${errorMessage(error)}`))
}
