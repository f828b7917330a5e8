/** A promise settled from outside, with timeout and abort: what a caller waiting for a welcome holds. */
import { ConvosClientError } from "./types.ts"

interface Waiter<T> {
  resolve(value: T): void
  reject(error: Error): void
}

/** A promise settled from outside, with timeout and abort; `settle` is idempotent. */
export function deferred<T>(options: { timeoutMs?: number; signal?: AbortSignal; what: string }, cleanup: () => void) {
  let waiter!: Waiter<T>
  let settled = false
  const promise = new Promise<T>((resolve, reject) => (waiter = { resolve, reject }))
  const finish = () => {
    settled = true
    if (timer) clearTimeout(timer)
    options.signal?.removeEventListener("abort", onAbort)
    cleanup()
  }
  const onAbort = () => fail(new ConvosClientError("aborted", `${options.what}: aborted`))
  const timer =
    options.timeoutMs === undefined
      ? undefined
      : setTimeout(() => fail(new ConvosClientError("timeout", `${options.what}: no welcome within ${options.timeoutMs} ms`)), options.timeoutMs)
  function fail(error: Error) {
    if (settled) return
    finish()
    waiter.reject(error)
  }
  function succeed(value: T) {
    if (settled) return
    finish()
    waiter.resolve(value)
  }
  if (options.signal?.aborted) onAbort()
  else options.signal?.addEventListener("abort", onAbort, { once: true })
  return { promise, succeed, fail, isSettled: () => settled }
}

export type Deferred<T> = ReturnType<typeof deferred<T>>
