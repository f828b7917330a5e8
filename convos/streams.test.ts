import { describe, expect, it } from "vitest"
import { backoffDelayMs, superviseStream, type ClosableStream } from "./streams.ts"

/** A stream yielding `items`, then failing (or ending) on its own. */
function fakeStream<T>(items: T[], ending: "fail" | "end"): ClosableStream<T> {
  return {
    async *[Symbol.asyncIterator]() {
      for (const item of items) yield item
      if (ending === "fail") throw new Error("connection reset")
    },
    end: async () => undefined,
  }
}

describe("backoffDelayMs", () => {
  it("doubles from the initial delay and stops at the cap", () => {
    const policy = { initialMs: 100, maxMs: 1000 }
    expect([0, 1, 2, 3, 4, 50].map((a) => backoffDelayMs(a, policy))).toEqual([100, 200, 400, 800, 1000, 1000])
  })
})

describe("superviseStream", () => {
  it("reopens a failing or ending stream with growing delays, resets them after a delivery, and stops cleanly", async () => {
    const delays: number[] = []
    const seen: number[] = []
    const errors: string[] = []
    let opens = 0
    let restarts = 0
    let finish: () => void = () => {}
    const done = new Promise<void>((resolve) => (finish = resolve))
    const script: (() => Promise<ClosableStream<number>>)[] = [
      async () => fakeStream([1, 2], "fail"),
      async () => {
        throw new Error("refused")
      },
      async () => fakeStream([], "end"),
      async () => fakeStream([3], "fail"),
      async () => {
        finish()
        return fakeStream([], "fail")
      },
    ]
    const supervised = superviseStream<number>({
      name: "test",
      open: () => (script[opens++] ?? script[script.length - 1]!)(),
      onItem: (n) => {
        seen.push(n)
        if (n === 2) throw new Error("handler bug")
      },
      onError: (error) => errors.push((error as Error).message),
      onRestart: () => {
        restarts++
      },
      backoff: { initialMs: 10, maxMs: 1000 },
      sleep: async (ms) => {
        delays.push(ms)
      },
    })
    await supervised.ready
    await done
    await supervised.stop()
    expect(seen).toEqual([1, 2, 3])
    // After items 1,2 the attempt counter was reset: 10; refused: 20; ended empty: 40; item 3 resets: 10.
    expect(delays.slice(0, 4)).toEqual([10, 20, 40, 10])
    expect(errors.slice(0, 5)).toEqual(["handler bug", "connection reset", "refused", "test stream ended unexpectedly", "connection reset"])
    expect(restarts).toBeGreaterThanOrEqual(2) // opens 3 and 4 (5 may race the stop)
  })
})
