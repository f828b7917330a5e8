/**
 * Keeps an SDK stream alive: reopens it with exponential back-off whenever it fails or ends on its own.
 * The SDK's own retry is turned off by the caller so that restarts, delays and errors are visible in one place.
 */

export interface BackoffPolicy {
  initialMs: number
  maxMs: number
}

export const defaultBackoff: BackoffPolicy = { initialMs: 250, maxMs: 30_000 }

/** Delay before restart number `attempt` (0-based): initial·2^attempt, capped. */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy = defaultBackoff): number {
  return Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 30))
}

export interface ClosableStream<T> extends AsyncIterable<T> {
  end(): Promise<unknown>
}

export interface SupervisedStreamOptions<T> {
  name: string
  open(): Promise<ClosableStream<T>>
  /** Called for each item, in order; must not throw (errors are reported and the stream goes on). */
  onItem(item: T): void | Promise<void>
  onError(error: unknown, context: string): void
  /** Called after a successful reopen, e.g. to catch up on what was missed. */
  onRestart?(): void | Promise<void>
  backoff?: BackoffPolicy
  sleep?(ms: number, signal: AbortSignal): Promise<void>
}

export interface SupervisedStream {
  /** Resolves once the stream is first open (or failed to open once: the supervisor keeps retrying). */
  ready: Promise<void>
  stop(): Promise<void>
}

const abortableSleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal.removeEventListener("abort", done)
      resolve()
    }
    signal.addEventListener("abort", done, { once: true })
  })

export function superviseStream<T>(options: SupervisedStreamOptions<T>): SupervisedStream {
  const controller = new AbortController()
  // A throwing error reporter must not end the supervision it reports on.
  const report = (error: unknown, context: string) => {
    try {
      options.onError(error, context)
    } catch {}
  }
  const sleep = options.sleep ?? abortableSleep
  let current: ClosableStream<T> | undefined
  let markReady: () => void = () => {}
  const ready = new Promise<void>((resolve) => (markReady = resolve))

  const loop = (async () => {
    let attempt = 0
    let opened = false
    while (!controller.signal.aborted) {
      try {
        current = await options.open()
        if (controller.signal.aborted) break
        if (opened) await options.onRestart?.()
        opened = true
        markReady()
        for await (const item of current) {
          if (controller.signal.aborted) break
          attempt = 0 // a delivering stream is healthy again
          try {
            await options.onItem(item)
          } catch (error) {
            report(error, `${options.name}: handler`)
          }
        }
        if (controller.signal.aborted) break
        report(new Error(`${options.name} stream ended unexpectedly`), `${options.name}: restart`)
      } catch (error) {
        if (controller.signal.aborted) break
        report(error, `${options.name}: stream failed`)
      }
      markReady()
      await sleep(backoffDelayMs(attempt++, options.backoff), controller.signal)
    }
  })()

  return {
    ready,
    stop: async () => {
      controller.abort()
      await current?.end().catch(() => undefined)
      await loop
    },
  }
}
