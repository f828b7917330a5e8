import { afterEach, describe, expect, it, vi } from "vitest"
import { accountChanges, enabledAccountsOf, nextRetry, type RunningAccount, syncAccounts } from "./accountSync.ts"

const map = (entries: Record<string, string>) => new Map(Object.entries(entries))

describe("which accounts to start and stop", () => {
  it("starts the enabled accounts not running and stops the running ones no longer enabled", () => {
    expect(accountChanges(map({ a: "s", b: "s", c: "s" }), map({ b: "s", x: "s" }), new Map(), new Set(), 0)).toEqual({ start: ["a", "c"], stop: ["x"] })
    expect(accountChanges(new Map(), map({ b: "s" }), new Map(), new Set(), 0)).toEqual({ start: [], stop: ["b"] })
  })

  it("stops an account whose settings changed (it starts again with the new ones once stopped)", () => {
    expect(accountChanges(map({ a: "new", b: "s" }), map({ a: "old", b: "s" }), new Map(), new Set(), 0)).toEqual({ start: [], stop: ["a"] })
    expect(accountChanges(map({ a: "new" }), new Map(), new Map(), new Set(), 0)).toEqual({ start: ["a"], stop: [] })
  })

  it("never starts an account the gateway stopped itself (it restarts it, or is shutting down)", () => {
    expect(accountChanges(map({ a: "s", b: "s" }), new Map(), new Map(), new Set(["a"]), 0).start).toEqual(["b"])
  })

  it("a failed start waits for its retry time", () => {
    const retries = new Map([["a", { attempts: 1, at: 1_000 }]])
    expect(accountChanges(map({ a: "s" }), new Map(), retries, new Set(), 999).start).toEqual([])
    expect(accountChanges(map({ a: "s" }), new Map(), retries, new Set(), 1_000).start).toEqual(["a"])
  })

  it("waits twice as long after each failed start, at most a minute", () => {
    const first = nextRetry(undefined, 0)
    expect(first).toEqual({ attempts: 1, at: 1_000 })
    expect(nextRetry(first, 10_000)).toEqual({ attempts: 2, at: 12_000 })
    expect(nextRetry({ attempts: 9, at: 0 }, 0).at).toBe(60_000)
  })
})

const configWith = (accounts: Record<string, boolean | Record<string, string>>) => ({
  channels: {
    convos: {
      enabled: true,
      accounts: Object.fromEntries(Object.entries(accounts).map(([id, a]) => [id, { enabled: a !== false, stateDir: `/s/${id}`, tools: typeof a === "object" ? a : {} }])),
    },
  },
})

describe("the account sync loop", () => {
  afterEach(() => vi.useRealTimers())

  /** `start` runs an account (registered with the settings it started with) until it is stopped; it can be made to fail. */
  const world = (initial: unknown) => {
    vi.useFakeTimers()
    let cfg = initial
    let now = 0
    const running = new Map<string, RunningAccount>()
    const started: Array<string> = []
    const failing = new Set<string>()
    const gatewayStopped = new Set<string>()
    const end = syncAccounts({
      current: () => cfg,
      running,
      gatewayStopped,
      start: async (id, at) => {
        started.push(id)
        if (failing.has(id)) throw new Error("no network")
        const entry = { stop: new AbortController(), settings: enabledAccountsOf(at).get(id) ?? "" }
        running.set(id, entry)
        await new Promise<void>((resolve) => entry.stop.signal.addEventListener("abort", () => resolve()))
        running.delete(id)
      },
      closed: () => false,
      log: () => {},
      now: () => now,
    })
    return {
      running,
      started,
      failing,
      gatewayStopped,
      set: (next: unknown) => (cfg = next),
      advance: async (ms: number) => {
        now += ms
        await vi.advanceTimersByTimeAsync(ms)
      },
      end,
    }
  }

  it("starts an account that appears in the config and stops one that leaves or is disabled, touching no other", async () => {
    const w = world(configWith({ a: true }))
    expect(w.started).toEqual(["a"])
    w.set(configWith({ a: true, b: true }))
    await w.advance(200)
    expect(w.started).toEqual(["a", "b"])
    w.set(configWith({ a: true, b: false }))
    await w.advance(200)
    expect([...w.running.keys()]).toEqual(["a"])
    w.set(configWith({}))
    await w.advance(200)
    expect([...w.running.keys()]).toEqual([])
    expect(w.started).toEqual(["a", "b"])
    w.end()
  })

  it("restarts an account whose settings changed, and only that one", async () => {
    const w = world(configWith({ a: true, b: true }))
    w.set(configWith({ a: { AGENTMAIL_INBOX_ID: "inbox-1" }, b: true }))
    await w.advance(400)
    expect(w.started).toEqual(["a", "b", "a"])
    expect(w.running.get("a")?.settings).toContain("inbox-1")
    w.end()
  })

  it("an account already running (the gateway started it) is not started again", async () => {
    const w = world(configWith({}))
    w.set(configWith({ a: true }))
    w.running.set("a", { stop: new AbortController(), settings: enabledAccountsOf(configWith({ a: true })).get("a") ?? "" })
    await w.advance(1_000)
    expect(w.started).toEqual([])
    w.end()
  })

  it("leaves an account the gateway stopped to the gateway, even while its config still enables it", async () => {
    const w = world(configWith({ a: true }))
    w.gatewayStopped.add("a")
    w.running.get("a")?.stop.abort()
    await w.advance(1_000)
    expect(w.started).toEqual(["a"])
    expect(w.running.size).toBe(0)
    w.end()
  })

  it("tries a failed start again later, not on every tick", async () => {
    const w = world(configWith({}))
    w.failing.add("a")
    w.set(configWith({ a: true }))
    await w.advance(200)
    expect(w.started).toEqual(["a"])
    await w.advance(600)
    expect(w.started).toEqual(["a"])
    w.failing.delete("a")
    await w.advance(400)
    expect(w.started).toEqual(["a", "a"])
    expect([...w.running.keys()]).toEqual(["a"])
    w.end()
  })
})
