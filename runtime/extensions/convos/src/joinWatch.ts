/**
 * A conversation the agent created is greeted when its first member joins, and the agent learns of the join only from
 * the member's join request (a DM). XMTP's live stream can lose a new DM's first message, and the periodic sweep that
 * finds it runs every 15 s: a greeting then came 7 s late on average. So while the created conversation waits for
 * its first member, the agent looks for join requests itself: often at first (the invite is usually opened right
 * after it was handed out), then less often, then leaves it to the sweep. Pure.
 */

export interface JoinWatchPolicy {
  /** Checks this often during the first `fastForMs`… */
  readonly fastEveryMs: number
  readonly fastForMs: number
  /** …then this often until `giveUpAfterMs`, then not at all (the sweep still finds a join). */
  readonly slowEveryMs: number
  readonly giveUpAfterMs: number
}

export const defaultJoinWatchPolicy: JoinWatchPolicy = { fastEveryMs: 300, fastForMs: 2 * 60_000, slowEveryMs: 3_000, giveUpAfterMs: 30 * 60_000 }

/** How long to wait before the next check, `elapsedMs` after the watch began; null: stop watching. */
export const nextJoinCheckInMs = (elapsedMs: number, policy: JoinWatchPolicy = defaultJoinWatchPolicy): number | null => {
  if (elapsedMs < policy.fastForMs) return policy.fastEveryMs
  if (elapsedMs < policy.giveUpAfterMs) return policy.slowEveryMs
  return null
}
