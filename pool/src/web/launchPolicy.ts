/**
 * The pure decisions behind the public launch routes: rate limits, same-origin checks, and what the availability
 * line says. No I/O: the routes (WebRoutes.ts) pass the clock, the headers and the pool's counts in.
 */
import { etaSeconds } from "../domain/placement.ts"

/** Fixed-window counters: at most `limit` launches per key per window. Old windows are dropped as they expire. */
export class LaunchLimiter {
  private readonly windows = new Map<string, { count: number; resetAt: number }>()
  constructor(readonly limit: number, readonly windowMs: number) {}

  /** Counts one launch for `key` at `now` if allowed; otherwise says how long until the next is. */
  take(key: string, now: number): { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number } {
    if (this.windows.size > 10_000) {
      for (const [k, w] of this.windows) if (w.resetAt <= now) this.windows.delete(k)
    }
    const window = this.windows.get(key)
    if (window === undefined || window.resetAt <= now) {
      if (this.limit <= 0) return { ok: false, retryAfterMs: this.windowMs }
      this.windows.set(key, { count: 1, resetAt: now + this.windowMs })
      return { ok: true }
    }
    if (window.count >= this.limit) return { ok: false, retryAfterMs: window.resetAt - now }
    window.count++
    return { ok: true }
  }

  /** Gives back a launch that was counted but refused by the other limit, so it does not count twice. */
  refund(key: string) {
    const window = this.windows.get(key)
    if (window && window.count > 0) window.count--
  }
}

export const waitText = (ms: number) => {
  const minutes = Math.ceil(ms / 60_000)
  return minutes <= 1 ? "a minute" : `${minutes} minutes`
}

/**
 * A launch must come from our own page: the browser's `Origin` (always sent on a cross-site POST and on fetch
 * POSTs) must be this site's, and `Sec-Fetch-Site`, when present, must say same-origin. A form on another site or a
 * script elsewhere cannot claim with a visitor's browser.
 */
export const sameOriginProblem = (
  headers: Readonly<Record<string, string | undefined>>,
  ownOrigins: ReadonlyArray<string>,
): string | null => {
  const origin = headers["origin"]
  if (origin === undefined || !ownOrigins.includes(origin)) return "This action only works from this site's own page."
  const site = headers["sec-fetch-site"]
  if (site !== undefined && site !== "same-origin") return "This action only works from this site's own page."
  const type = headers["content-type"] ?? ""
  if (!/^application\/json\b/i.test(type)) return "Send the request as JSON."
  return null
}

export interface Availability {
  readonly ready: number
  readonly warming: number
  /** When the next agent should be ready, when none is now; null when none is on its way. */
  readonly etaSeconds: number | null
  readonly message: string
}

/** The availability line: agents ready now, or when the next one will be. */
export const availability = (input: {
  readonly idle: number
  readonly starting: number
  readonly hosts: ReadonlyArray<{ readonly status: string; readonly slot_ready_ms: number | null; readonly start_ms: number | null; readonly capacity: number; readonly slots: number }>
}): Availability => {
  if (input.idle > 0) {
    return {
      ready: input.idle,
      warming: input.starting,
      etaSeconds: 0,
      message: input.idle === 1 ? "1 agent ready now" : `${input.idle} agents ready now`,
    }
  }
  // None ready: a claim takes a warming slot, or hot-adds one on a host with room, or starts a host.
  const ready = input.hosts.filter((h) => h.status === "ready")
  const measured = ready.find((h) => h.slot_ready_ms !== null) ?? input.hosts.find((h) => h.slot_ready_ms !== null)
  const hasRoom = ready.some((h) => h.slots < h.capacity)
  const eta = etaSeconds({
    slotReadyMs: measured?.slot_ready_ms ?? null,
    hostStartMs: input.hosts.find((h) => h.start_ms !== null)?.start_ms ?? null,
    newHost: input.starting === 0 && !hasRoom,
  })
  return {
    ready: 0,
    warming: input.starting,
    etaSeconds: eta,
    message: `No agent is ready this second: the next one will be ready in about ${eta} s`,
  }
}
