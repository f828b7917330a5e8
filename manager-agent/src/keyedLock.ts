/** One lock per key (a conversation, a sender), created on first use and dropped when nobody holds or waits for it. */
import { Effect, Semaphore } from "effect"

export const makeKeyedLock = () => {
  const entries = new Map<string, { readonly lock: Semaphore.Semaphore; users: number }>()
  return <A, E, R>(key: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.suspend(() => {
      let entry = entries.get(key)
      if (!entry) entries.set(key, (entry = { lock: Semaphore.makeUnsafe(1), users: 0 }))
      const held = entry
      held.users += 1
      return held.lock.withPermits(1)(effect).pipe(
        Effect.ensuring(Effect.sync(() => {
          held.users -= 1
          if (held.users === 0) entries.delete(key)
        })),
      )
    })
}
