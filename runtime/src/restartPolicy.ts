/** When the gateway dies: restart with back-off, or give up after repeated quick crashes. Pure. */

export interface RestartPolicy {
  /** A run shorter than this counts as a quick crash. */
  readonly quickCrashMs: number
  /** Give up after this many quick crashes in a row. */
  readonly maxQuickCrashes: number
  readonly baseDelayMs: number
  readonly maxDelayMs: number
}

export const defaultRestartPolicy: RestartPolicy = { quickCrashMs: 30_000, maxQuickCrashes: 5, baseDelayMs: 500, maxDelayMs: 15_000 }

export interface CrashHistory {
  readonly consecutiveQuickCrashes: number
}

export const noCrashes: CrashHistory = { consecutiveQuickCrashes: 0 }

export type RestartDecision =
  | { readonly restart: true; readonly delayMs: number; readonly history: CrashHistory }
  | { readonly restart: false; readonly reason: string; readonly history: CrashHistory }

export const decideRestart = (history: CrashHistory, uptimeMs: number, policy: RestartPolicy = defaultRestartPolicy): RestartDecision => {
  const quick = uptimeMs < policy.quickCrashMs
  const next: CrashHistory = { consecutiveQuickCrashes: quick ? history.consecutiveQuickCrashes + 1 : 0 }
  if (next.consecutiveQuickCrashes >= policy.maxQuickCrashes)
    return { restart: false, reason: `the gateway crashed ${next.consecutiveQuickCrashes} times in a row within ${policy.quickCrashMs} ms of starting`, history: next }
  const exponent = Math.max(0, next.consecutiveQuickCrashes - 1)
  return { restart: true, delayMs: Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent), history: next }
}
