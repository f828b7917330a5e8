/**
 * Slots added to or removed from a running host. The supervisor writes `channels.convos.accounts`; the plugin declares
 * that prefix as needing no reload (channel.ts), so the gateway only swaps its config snapshot, and this loop starts
 * the accounts that appeared, stops the ones that left or were disabled, and restarts one whose settings changed. The
 * gateway's own channel reload would wait until no turn runs anywhere on the host (up to 5 minutes): one busy
 * co-tenant would hold back every hot-add and every delete.
 */
import { type AccountSettings, accountIdsOf, accountSettingsOf } from "./settings.ts"

/** A start that failed: when it may be tried again. */
export interface Retry {
  readonly attempts: number
  readonly at: number
}

/** An account started or starting, with what stops it and the settings (as JSON) it was started with. */
export interface RunningAccount {
  readonly stop: AbortController
  readonly settings: string
}

/**
 * What to do now, from the enabled accounts and the running ones (each with its settings as JSON): start the enabled
 * ones not running (unless waiting to retry, or stopped by the gateway itself: it restarts those, or is shutting
 * down); stop the running ones not enabled, or enabled with other settings (they start again, with the new ones, once
 * stopped).
 */
export const accountChanges = (
  enabled: ReadonlyMap<string, string>,
  running: ReadonlyMap<string, string>,
  retries: ReadonlyMap<string, Retry>,
  gatewayStopped: ReadonlySet<string>,
  now: number,
): { readonly start: ReadonlyArray<string>; readonly stop: ReadonlyArray<string> } => ({
  start: [...enabled.keys()].filter((id) => !running.has(id) && !gatewayStopped.has(id) && (retries.get(id)?.at ?? 0) <= now),
  stop: [...running].filter(([id, settings]) => enabled.get(id) !== settings).map(([id]) => id),
})

/** 1 s, 2 s, 4 s … up to a minute between attempts to start an account that failed. */
export const nextRetry = (previous: Retry | undefined, now: number): Retry => {
  const attempts = (previous?.attempts ?? 0) + 1
  return { attempts, at: now + Math.min(60_000, 1_000 * 2 ** (attempts - 1)) }
}

/** An account's settings as `RunningAccount.settings` holds them, to tell whether they changed. */
export const settingsKeyOf = (settings: AccountSettings | undefined): string => JSON.stringify(settings ?? null)

/** The accounts a gateway config enables, each with its settings key. */
export const enabledAccountsOf = (cfg: unknown): Map<string, string> => {
  const enabled = new Map<string, string>()
  for (const id of accountIdsOf(cfg)) {
    const settings = accountSettingsOf(cfg, id)
    if (settings?.enabled === true) enabled.set(id, settingsKeyOf(settings))
  }
  return enabled
}

/**
 * Applies `accountChanges` to the gateway's current config every `intervalMs` (a few accounts: microseconds).
 * `start` runs an account until it is stopped, registering it in `running` at once; it rejects if the account cannot
 * start, which is then tried again later. Returns a function that ends the loop.
 */
export const syncAccounts = (options: {
  readonly current: () => unknown
  readonly running: ReadonlyMap<string, RunningAccount>
  /** Accounts the gateway stopped itself (a channel restart, its shutdown): never started again here. */
  readonly gatewayStopped: ReadonlySet<string>
  readonly start: (accountId: string, cfg: unknown) => Promise<void>
  readonly closed: () => boolean
  readonly log: (message: string) => void
  readonly intervalMs?: number
  readonly now?: () => number
}): (() => void) => {
  const now = options.now ?? Date.now
  const retries = new Map<string, Retry>()
  const tick = () => {
    if (options.closed()) return end()
    const cfg = options.current()
    const enabled = enabledAccountsOf(cfg)
    const running = new Map([...options.running].map(([id, account]) => [id, account.settings]))
    const { start, stop } = accountChanges(enabled, running, retries, options.gatewayStopped, now())
    for (const id of stop) {
      const account = options.running.get(id)
      if (account === undefined || account.stop.signal.aborted) continue
      options.log(`[convos ${id}] ${enabled.has(id) ? "its settings changed: restarting" : "its account left the config: stopping"}`)
      account.stop.abort()
    }
    for (const id of retries.keys()) if (!enabled.has(id)) retries.delete(id)
    for (const id of start) {
      options.start(id, cfg).then(
        () => retries.delete(id),
        () => retries.set(id, nextRetry(retries.get(id), now())),
      )
    }
  }
  const timer = setInterval(tick, options.intervalMs ?? 200)
  timer.unref?.()
  const end = () => clearInterval(timer)
  tick()
  return end
}
