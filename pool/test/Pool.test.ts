/** The pool service against real local host processes, one `it` per behaviour (over 400 lines: claims, placement, warm-up, kill, reconfigure, drain, host crashes and tokens share one harness). */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Option, Redacted } from "effect"
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Instances } from "../src/db/Instances.ts"
import type { ClaimRequest, ClaimStep } from "../src/domain/Claim.ts"
import { Pool } from "../src/Pool.ts"
import { InstanceTokens } from "../src/InstanceTokens.ts"
import type { PoolSettings } from "../src/PoolConfig.ts"
import { Reconciler } from "../src/Reconciler.ts"
import { TestDatabaseLayer } from "../../test/db/testDatabase.ts"
import { makeFakeTool } from "../../test/fakes/fakeTool.ts"
import { controlHost, controlInstance, defaultControl, hostPid, makeDataDir, poolLayer, slotDir } from "./support/poolHarness.ts"
import { waitFor } from "../../test/waitFor.ts"

const request = (overrides: Partial<ClaimRequest> = {}): ClaimRequest => ({
  agentName: "Trip Planner",
  instructions: "Plan trips.",
  mode: "create",
  ...overrides,
})

const idleCount = (n: number) =>
  waitFor(`${n} idle instances`, Effect.gen(function*() {
    const counts = yield* (yield* Pool).counts
    return counts.idle === n && counts.starting === 0 ? counts : undefined
  }))

/** The pool, with `n` instances warmed up and idle. */
const warmPool = (n: number) =>
  Effect.gen(function*() {
    const pool = yield* Pool
    yield* pool.replenish(n)
    yield* idleCount(n)
    return pool
  })

/** Runs `body` against a fresh database and data dir, with a pool whose tools are two fakes. */
const withPool = <A, E>(
  body: (ctx: { dataDir: string; llm: ReturnType<typeof makeFakeTool>; mail: ReturnType<typeof makeFakeTool> }) => Effect.Effect<A, E, Pool | Instances | Reconciler | InstanceTokens>,
  settings: Partial<PoolSettings> = {},
) =>
  Effect.gen(function*() {
    const { dir, cleanup } = makeDataDir()
    yield* Effect.addFinalizer(() => Effect.sync(cleanup))
    const llm = makeFakeTool("llm", "OPENROUTER_API_KEY")
    const mail = makeFakeTool("mail", "AGENTMAIL_INBOX_ID")
    return yield* body({ dataDir: dir, llm, mail }).pipe(
      Effect.provide(poolLayer({ dataDir: dir, settings, tools: [llm.provider, mail.provider] }).pipe(Layer.provide(TestDatabaseLayer()))),
    )
  }).pipe(Effect.scoped)

describe("Pool", () => {
  it.live("warms 8 slots on one host process, claims hand out distinct ones, and at the total a claim gets no capacity", () =>
    withPool(({ dataDir, llm, mail }) =>
      Effect.gen(function*() {
        const pool = yield* Pool
        const created = yield* pool.replenish(8)
        assert.strictEqual(created.length, 8)
        yield* idleCount(8)
        const hosts = yield* pool.hosts
        assert.strictEqual(hosts.length, 1, "8 slots fit one host")
        assert.deepStrictEqual(readdirSync(join(dataDir, "hosts")), [hosts[0]!.id], "one host process, one host dir")
        assert.include(hosts[0]!, { status: "ready", capacity: 8, slots: 8, idle: 8 })
        assert.strictEqual(llm.live.size, 8, "one LLM key per slot")
        assert.strictEqual(mail.live.size, 8, "one inbox per slot")
        const results = yield* Effect.all(Array.from({ length: 8 }, () => pool.claim(request())), { concurrency: "unbounded" })
        assert.strictEqual(new Set(results.map((r) => r.instanceId)).size, 8)
        for (const r of results) {
          assert.strictEqual(r.status, "claimed")
          assert.match(r.inviteUrl ?? "", /^https:\/\/dev\.convos\.org\/v2\?i=/)
          assert.isFalse(r.joined)
          assert.isNotEmpty(r.inboxId)
        }
        // The host is full and the pool is at POOL_MAX_TOTAL: an honest "no capacity", without waiting.
        const steps: Array<ClaimStep> = []
        const none = yield* Effect.exit(pool.claim(request(), (s) => steps.push(s)))
        assert.isTrue(Exit.isFailure(none))
        assert.include(JSON.stringify(none), "NoIdleInstance")
        assert.isFalse(steps.some((s) => s.step === "capacity"), "no wait is announced when there is no room")
      }), { maxTotal: 8 }), 60_000)

  it.live("claims pack the oldest host; new slots go to the fullest host with room, and a new host only when none has", () =>
    withPool(() =>
      Effect.gen(function*() {
        const pool = yield* Pool
        const instances = yield* Instances
        yield* pool.replenish(4)
        yield* idleCount(4)
        const hosts = yield* pool.hosts
        assert.deepStrictEqual(hosts.map((h) => h.slots), [2, 2], "two hosts of two")
        const hostOf = (id: string) => Effect.map(instances.findById(id), (r) => Option.getOrThrow(r).host_id)
        const first = yield* pool.claim(request())
        const second = yield* pool.claim(request())
        assert.strictEqual(yield* hostOf(first.instanceId), hosts[0]!.id, "the oldest host first")
        assert.strictEqual(yield* hostOf(second.instanceId), hosts[0]!.id, "until it is full")
        // Free places so that the newer host is the fuller one: a new slot goes there (fullest first, not oldest).
        const idleOn = (hostId: string) =>
          Effect.map(pool.list, (rows) => rows.filter((r) => r.host_id === hostId && r.status === "idle").map((r) => r.id))
        yield* pool.kill(first.instanceId)
        yield* pool.kill(second.instanceId)
        yield* pool.kill((yield* idleOn(hosts[1]!.id))[0]!)
        assert.deepStrictEqual((yield* pool.hosts).map((h) => h.slots), [0, 1])
        const [placed] = yield* pool.replenish(1)
        assert.strictEqual(yield* hostOf(placed!), hosts[1]!.id, "the fuller host")
        // Then the one with room; a new host only once no host has room.
        const more = yield* pool.replenish(3)
        assert.deepStrictEqual(yield* Effect.forEach(more.slice(0, 2), hostOf), [hosts[0]!.id, hosts[0]!.id])
        const after = yield* pool.hosts
        assert.strictEqual(after.length, 3)
        assert.deepStrictEqual(after.map((h) => h.slots), [2, 2, 1])
      }), { agentsPerHost: 2 }), 60_000)

  it.live("a claim with no warm slot but room waits for a hot-added slot, reporting the capacity step with an ETA", () =>
    withPool(({ dataDir }) =>
      Effect.gen(function*() {
        const pool = yield* warmPool(1)
        const first = yield* pool.claim(request())
        const steps: Array<ClaimStep> = []
        const second = yield* pool.claim(request({ agentName: "Chef" }), (s) => steps.push(s))
        assert.strictEqual(second.status, "claimed")
        assert.notStrictEqual(second.instanceId, first.instanceId)
        const capacity = steps.find((s) => s.step === "capacity")
        assert.isDefined(capacity, "the claim said it was waiting")
        assert.include(capacity!, { status: "waiting" })
        // The host measured its first warm-up (a test host is ready at once), so the estimate is short, not the default.
        assert.isAtLeast(capacity!.step === "capacity" ? capacity!.etaSeconds : 0, 1)
        assert.isAtMost(capacity!.step === "capacity" ? capacity!.etaSeconds : 99, 5)
        assert.strictEqual((yield* pool.hosts).length, 1, "the slot was hot-added on the host with room")
        assert.strictEqual(steps.at(-1)?.step, "convo")
        // The claim waited for it, so its host was told to skip the warm-up turn; a slot warmed for the pool was not.
        const specOf = (id: string) => JSON.parse(readFileSync(join(slotDir(dataDir, id)!, "spec.json"), "utf8")) as { warmUp?: boolean }
        assert.strictEqual(specOf(second.instanceId).warmUp, false)
        assert.isUndefined(specOf(first.instanceId).warmUp)
      })), 60_000)

  it.live("a claim that finds a slot still warming waits for that one instead of adding another", () =>
    withPool(({ dataDir }) =>
      Effect.gen(function*() {
        const pool = yield* Pool
        defaultControl(dataDir, { readyAfterMs: 1_500 })
        const [warming] = yield* pool.replenish(1)
        const steps: Array<ClaimStep> = []
        const claimed = yield* pool.claim(request(), (s) => steps.push(s))
        assert.strictEqual(claimed.instanceId, warming, "it took the slot that was warming")
        assert.isTrue(steps.some((s) => s.step === "capacity"))
        assert.strictEqual((yield* pool.list).length, 1, "no second slot was added")
      })), 60_000)

  it.live("when every host is full, a claim under the total starts a new host for itself and waits for it", () =>
    withPool(() =>
      Effect.gen(function*() {
        const pool = yield* warmPool(1)
        yield* pool.claim(request())
        const steps: Array<ClaimStep> = []
        const second = yield* pool.claim(request(), (s) => steps.push(s))
        assert.strictEqual(second.status, "claimed")
        assert.isTrue(steps.some((s) => s.step === "capacity"))
        assert.strictEqual((yield* pool.hosts).length, 2, "one agent per host: a second host")
        const third = yield* Effect.exit(pool.claim(request()))
        assert.include(JSON.stringify(third), "NoIdleInstance", "every host full and POOL_MAX_TOTAL reached")
      }), { agentsPerHost: 1, maxTotal: 2 }), 60_000)

  it.live("the same idempotency key twice gives one instance", () =>
    withPool(() =>
      Effect.gen(function*() {
        const pool = yield* warmPool(2)
        const [a, b] = yield* Effect.all([
          pool.claim(request({ idempotencyKey: "key-1" })),
          pool.claim(request({ idempotencyKey: "key-1" })),
        ], { concurrency: "unbounded" })
        assert.strictEqual(a.instanceId, b.instanceId)
        const again = yield* pool.claim(request({ idempotencyKey: "key-1" }))
        assert.strictEqual(again.instanceId, a.instanceId)
        assert.strictEqual((yield* pool.counts).idle, 1, "the second instance is still idle")
        const mismatch = yield* Effect.exit(pool.claim(request({ idempotencyKey: "key-1", agentName: "Chef" })))
        assert.include(JSON.stringify(mismatch), "IdempotencyConflict")
        // Other tools are another agent too; the same skills in another order are not.
        const withSkills = yield* pool.claim(request({ idempotencyKey: "key-2", skills: ["web", "memory"] }))
        const reordered = yield* pool.claim(request({ idempotencyKey: "key-2", skills: ["memory", "web"] }))
        assert.strictEqual(reordered.instanceId, withSkills.instanceId)
        const otherTools = yield* Effect.exit(pool.claim(request({ idempotencyKey: "key-2", skills: ["web"] })))
        assert.include(JSON.stringify(otherTools), "IdempotencyConflict")
      })), 60_000)

  it.live("two claims for the same joinUrl get the same instance", () =>
    withPool(() =>
      Effect.gen(function*() {
        const pool = yield* warmPool(2)
        const joinUrl = "https://dev.convos.org/v2?i=abc123"
        const [a, b] = yield* Effect.all([
          pool.claim(request({ mode: "join", joinUrl })),
          pool.claim(request({ mode: "join", joinUrl })),
        ], { concurrency: "unbounded" })
        assert.strictEqual(a.instanceId, b.instanceId)
        assert.isTrue(a.joined)
        assert.strictEqual(a.inviteUrl, joinUrl)
        assert.strictEqual((yield* pool.counts).idle, 1)
      })), 60_000)

  it.live("a claim for a joinUrl whose claim already finished gets that instance (a retried join of the same invite)", () =>
    withPool(() =>
      Effect.gen(function*() {
        const pool = yield* warmPool(2)
        const joinUrl = "https://dev.convos.org/v2?i=retried"
        const first = yield* pool.claim(request({ mode: "join", joinUrl }))
        const again = yield* pool.claim(request({ mode: "join", joinUrl }))
        assert.strictEqual(again.instanceId, first.instanceId)
        assert.isTrue(again.joined)
        assert.strictEqual((yield* pool.counts).idle, 1)
      })), 60_000)

  it.live("a failed provision returns the instance to idle when it resets clean, and crashes it when not", () =>
    withPool(({ dataDir }) =>
      Effect.gen(function*() {
        const pool = yield* Pool
        const instances = yield* Instances
        const [id] = yield* pool.replenish(1)
        yield* idleCount(1)
        controlInstance(dataDir, id!, { provision: "error", resetClean: true })
        const first = yield* Effect.exit(pool.claim(request()))
        assert.include(JSON.stringify(first), "ProvisionFailed")
        const afterClean = Option.getOrThrow(yield* instances.findById(id!))
        assert.strictEqual(afterClean.status, "idle")
        assert.isNull(afterClean.agent_name, "a reset instance forgets the failed claim")

        controlInstance(dataDir, id!, { provision: "error", resetClean: false })
        yield* Effect.exit(pool.claim(request()))
        assert.strictEqual(Option.getOrThrow(yield* instances.findById(id!)).status, "crashed")
      })), 60_000)

  it.live("a reconcile tick that read a claim in flight leaves its slot alone when the claim ends before the tick decides", () =>
    withPool(({ dataDir }) =>
      Effect.gen(function*() {
        const pool = yield* warmPool(1)
        const instances = yield* Instances
        const { id, host_id } = (yield* pool.list)[0]!
        // The slot would report a reset clean (as an added agent does until the welcome comes); the host's health
        // answer comes after the claim ended, so the tick decides on a row it read while the claim ran.
        controlInstance(dataDir, id, { provisionDelayMs: 500, resetClean: true })
        controlHost(dataDir, host_id!, { healthDelayMs: 1_500 })
        const claim = yield* Effect.forkChild(pool.claim(request()))
        yield* waitFor("the claim in flight", Effect.map(instances.findById(id), (row) => Option.getOrUndefined(row)?.status === "claiming" || undefined))
        yield* (yield* Reconciler).tick
        const claimed = yield* Fiber.join(claim)
        assert.strictEqual(claimed.instanceId, id)
        const row = Option.getOrThrow(yield* instances.findById(id))
        assert.strictEqual(row.status, "claimed")
        // Still bound to the conversation it was handed out for: the tick did not reset it.
        const binding = JSON.parse(readFileSync(join(slotDir(dataDir, id)!, "binding.json"), "utf8")) as { conversationId?: string } | null
        assert.strictEqual(binding?.conversationId, row.conversation_id)
      })), 60_000)

  it.live("a warm-up whose provider fails rolls back: no resource, no row, no slot; the empty host is retired", () =>
    withPool(({ dataDir, llm, mail }) =>
      Effect.gen(function*() {
        const pool = yield* Pool
        mail.faults.failCreate = true
        const [id] = yield* pool.replenish(1)
        yield* waitFor("rollback", Effect.map(pool.counts, (c) => c.starting === 0 && c.dead === 0 ? true : undefined))
        assert.strictEqual(llm.live.size, 0, "the LLM key created before the failure was released")
        assert.strictEqual(mail.live.size, 0)
        assert.isTrue(Option.isNone(yield* (yield* Instances).findById(id!)))
        assert.isUndefined(slotDir(dataDir, id!), "no slot was put on the host")
        yield* waitFor("the host started for it", Effect.map(pool.hosts, (hs) => hs[0]?.status === "ready" ? true : undefined))
        // The host started for it has no slot left: the next tick retires it (process and state dir).
        const report = yield* (yield* Reconciler).tick
        assert.strictEqual(report.retired, 1)
        assert.deepStrictEqual(yield* pool.hosts, [])
        assert.deepStrictEqual(readdirSync(join(dataDir, "hosts")), [])
      })), 60_000)

  it.live("a resource whose create answer was lost is found by its instance id and released", () =>
    withPool(({ mail }) =>
      Effect.gen(function*() {
        const pool = yield* Pool
        mail.faults.loseCreateResponse = true
        yield* pool.replenish(1)
        yield* waitFor("rollback", Effect.map(pool.counts, (c) => c.starting === 0 ? true : undefined))
        assert.strictEqual(mail.live.size, 0, "the inbox the pool never heard about was deleted")
      })), 60_000)

  it.live("kill removes the slot from its host (which keeps running) and releases its resources; a fresh slot replaces it", () =>
    withPool(({ dataDir, llm }) =>
      Effect.gen(function*() {
        const pool = yield* warmPool(2)
        const [host] = yield* pool.hosts
        const pid = hostPid(dataDir, host!.id)
        const claimed = yield* pool.claim(request())
        const dir = slotDir(dataDir, claimed.instanceId)!
        const resource = [...llm.live].find(([, owner]) => owner === claimed.instanceId)
        yield* pool.kill(claimed.instanceId)
        assert.isFalse(existsSync(dir), "DELETE /host/slots/:id removed the slot and its state")
        assert.isFalse(llm.live.has(resource![0]), "its LLM key was released")
        assert.isTrue(Option.isNone(yield* (yield* Instances).findById(claimed.instanceId)))
        const left = readFileSync(join(dataDir, "hosts", host!.id, "state", "left.log"), "utf8")
        assert.include(left, `${claimed.instanceId} ${claimed.conversationId}`, "the agent left its conversation first")
        // The freed place is hot-added again on the same host (the pool keeps 2 idle), whose process never stopped.
        yield* idleCount(2)
        const after = yield* pool.hosts
        assert.strictEqual(after.length, 1)
        assert.strictEqual(after[0]!.slots, 2)
        assert.strictEqual(hostPid(dataDir, host!.id), pid)
        process.kill(pid, 0) // still alive
        const unknown = yield* Effect.exit(pool.kill("nope"))
        assert.include(JSON.stringify(unknown), "InstanceNotFound")
      }), { targetIdle: 2 }), 60_000)

  it.live("reconfigure: the instance takes the new name and instructions first, then the row records them", () =>
    withPool(({ dataDir }) =>
      Effect.gen(function*() {
        const pool = yield* warmPool(2)
        const claimed = yield* pool.claim(request({ managerInboxId: "e".repeat(64), skills: ["memory", "email"] }))
        const bindingOf = (instanceId: string) => JSON.parse(readFileSync(join(slotDir(dataDir, instanceId)!, "binding.json"), "utf8"))
        const binding = () => bindingOf(claimed.instanceId)
        assert.strictEqual(binding().managerInboxId, "e".repeat(64), "the provision carried the manager's inbox")
        assert.deepStrictEqual(binding().skills, ["memory", "email"], "the provision carried the claim's skills")

        const renamed = yield* pool.reconfigure(claimed.instanceId, { agentName: "Tour Guide" })
        assert.strictEqual(renamed.agent_name, "Tour Guide")
        assert.strictEqual(renamed.instructions, "Plan trips.", "what was not changed stays")
        assert.include(binding(), { agentName: "Tour Guide" })
        yield* pool.reconfigure(claimed.instanceId, { instructions: "Only Japan." })
        assert.include(binding(), { agentName: "Tour Guide", instructions: "Only Japan." })

        // The instance refuses: nothing changes in the database either.
        controlInstance(dataDir, claimed.instanceId, { configure: "error" })
        const failed = yield* Effect.exit(pool.reconfigure(claimed.instanceId, { agentName: "Broken" }))
        assert.include(JSON.stringify(failed), "ConfigureFailed")
        const row = yield* (yield* Instances).findById(claimed.instanceId)
        assert.strictEqual(Option.getOrThrow(row).agent_name, "Tour Guide")

        const idle = (yield* pool.list).find((r) => r.status === "idle")
        const notClaimed = yield* Effect.exit(pool.reconfigure(idle?.id ?? "", { agentName: "X" }))
        assert.include(JSON.stringify(notClaimed), "NotConfigurable")
        const unknown = yield* Effect.exit(pool.reconfigure("nope", { agentName: "X" }))
        assert.include(JSON.stringify(unknown), "InstanceNotFound")

        // A claim naming no skills (a free-form agent) provisions the default ones.
        const freeForm = yield* pool.claim(request())
        assert.deepStrictEqual(bindingOf(freeForm.instanceId).skills, ["web", "memory", "reminders"])
      })), 60_000)

  it.live("drain removes only idle, starting or dead instances", () =>
    withPool(() =>
      Effect.gen(function*() {
        const pool = yield* warmPool(3)
        const claimed = yield* pool.claim(request())
        const drained = yield* pool.drain(10)
        assert.strictEqual(drained.length, 2)
        assert.notInclude(drained, claimed.instanceId)
        const counts = yield* pool.counts
        assert.strictEqual(counts.claimed, 1)
        assert.strictEqual(counts.idle, 0)
      })), 60_000)

  it.live("draining a host: no new slots there, its idle slots go, its claimed agent stays; once empty it is destroyed", () =>
    withPool(({ dataDir }) =>
      Effect.gen(function*() {
        const pool = yield* warmPool(4)
        const [a, b] = yield* pool.hosts
        const claimed = yield* pool.claim(request())
        assert.strictEqual(Option.getOrThrow(yield* (yield* Instances).findById(claimed.instanceId)).host_id, a!.id)
        const drained = yield* pool.drainHost(a!.id)
        assert.strictEqual(drained.length, 1, "its one idle slot")
        assert.notInclude(drained, claimed.instanceId)
        assert.strictEqual(Option.getOrThrow(yield* (yield* Instances).findById(claimed.instanceId)).status, "claimed")
        const draining = (yield* pool.hosts).find((h) => h.id === a!.id)!
        assert.include(draining, { draining: true, slots: 1 })
        // New slots go elsewhere (the other host is full: a new one), never to the draining host.
        const [placed] = yield* pool.replenish(1)
        const placedOn = Option.getOrThrow(yield* (yield* Instances).findById(placed!)).host_id
        assert.notStrictEqual(placedOn, a!.id)
        assert.notStrictEqual(placedOn, b!.id)
        // An idle slot on a draining host is never handed out: the claim takes the other host's.
        const other = yield* pool.claim(request())
        assert.notStrictEqual(Option.getOrThrow(yield* (yield* Instances).findById(other.instanceId)).host_id, a!.id)
        // Its agent is removed: the host is empty and goes.
        yield* pool.kill(claimed.instanceId)
        yield* (yield* Reconciler).tick
        assert.isFalse((yield* pool.hosts).some((h) => h.id === a!.id))
        assert.isFalse(existsSync(join(dataDir, "hosts", a!.id)), "its process and state dir are gone")
        const unknown = yield* Effect.exit(pool.drainHost("nohost123"))
        assert.include(JSON.stringify(unknown), "HostNotFound")
      }), { agentsPerHost: 2 }), 60_000)

  it.live("a host crash: every claimed agent on it comes back claimed, with its inbox and conversation; idle ones wait", () =>
    withPool(({ dataDir }) =>
      Effect.gen(function*() {
        const pool = yield* warmPool(3)
        const instances = yield* Instances
        const reconciler = yield* Reconciler
        const [host] = yield* pool.hosts
        const claims = yield* Effect.all([pool.claim(request()), pool.claim(request({ agentName: "Chef" }))])
        const before = yield* Effect.forEach(claims, (c) => Effect.map(instances.findById(c.instanceId), Option.getOrThrow))
        process.kill(-hostPid(dataDir, host!.id), "SIGKILL")
        yield* waitFor("the host process to be gone", Effect.sync(() => {
          try {
            process.kill(hostPid(dataDir, host!.id), 0)
            return undefined
          } catch {
            return true
          }
        }))
        yield* reconciler.tick // the provider sees the dead process and restarts it from its state dir
        const down = (yield* pool.hosts)[0]!
        assert.strictEqual(down.status, "down")
        for (const b of before) {
          assert.strictEqual(Option.getOrThrow(yield* instances.findById(b.id)).status, "claimed", "not destroyed, not crashed")
        }
        // While the host is down its idle slot is not handed out (and the pool is at its total: no new slot either).
        const meanwhile = yield* Effect.exit(pool.claim(request()))
        assert.include(JSON.stringify(meanwhile), "NoIdleInstance")
        yield* waitFor("the host to be back", Effect.gen(function*() {
          yield* reconciler.tick
          return (yield* pool.hosts)[0]?.status === "ready" ? true : undefined
        }))
        for (const b of before) {
          const after = Option.getOrThrow(yield* instances.findById(b.id))
          assert.strictEqual(after.status, "claimed")
          assert.strictEqual(after.inbox_id, b.inbox_id, "same identity")
          assert.strictEqual(after.conversation_id, b.conversation_id, "same conversation")
        }
        const binding = JSON.parse(readFileSync(join(slotDir(dataDir, before[0]!.id)!, "binding.json"), "utf8"))
        assert.strictEqual(binding.conversationId, before[0]!.conversation_id, "the slot came back bound to its conversation")
        const again = yield* pool.claim(request())
        assert.strictEqual(again.status, "claimed", "the idle slot is handed out again once its host is ready")

        // A host directory no row names (a pool that died between its two deletes) is removed.
        const orphan = join(dataDir, "hosts", "orphan123456")
        mkdirSync(orphan, { recursive: true })
        writeFileSync(join(orphan, "env.json"), "{}")
        const report = yield* reconciler.tick
        assert.isAtLeast(report.orphans, 1)
        assert.isFalse(existsSync(orphan))
      }), { maxTotal: 3 }), 60_000)

  it.live("an idle slot its host reports not ready is taken out after POOL_UNHEALTHY_AFTER ticks; its host keeps running", () =>
    withPool(({ dataDir }) =>
      Effect.gen(function*() {
        const pool = yield* warmPool(2)
        const reconciler = yield* Reconciler
        const [sick, well] = yield* pool.list
        controlInstance(dataDir, sick!.id, { health: "down" })
        yield* reconciler.tick
        yield* reconciler.tick
        assert.strictEqual(Option.getOrThrow(yield* (yield* Instances).findById(sick!.id)).status, "idle", "not yet")
        yield* reconciler.tick
        assert.isTrue(Option.isNone(yield* (yield* Instances).findById(sick!.id)), "dead, then reaped")
        assert.isUndefined(slotDir(dataDir, sick!.id), "and removed from its host")
        assert.strictEqual(Option.getOrThrow(yield* (yield* Instances).findById(well!.id)).status, "idle")
        process.kill(hostPid(dataDir, well!.host_id!), 0) // the host process is still alive
      })), 60_000)

  it.live("a slot's token opens only its own slot, and never the host routes", () =>
    withPool(() =>
      Effect.gen(function*() {
        const pool = yield* warmPool(2)
        const tokens = yield* InstanceTokens
        const [a, b] = yield* pool.list
        const url = a!.url!
        const get = (path: string, token: string) =>
          Effect.promise(() => fetch(url + path, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status))
        const tokenA = Redacted.value(tokens.tokenFor(a!.id))
        assert.strictEqual(yield* get(`/slots/${a!.id}/health`, tokenA), 200)
        assert.strictEqual(yield* get(`/slots/${b!.id}/health`, tokenA), 401, "another slot's token")
        assert.strictEqual(yield* get(`/slots/zzzzzzzz/health`, tokenA), 404, "an unknown slot")
        assert.strictEqual(yield* get(`/host/health`, tokenA), 401, "a slot token is not the host token")
        assert.strictEqual(yield* get(`/host/health`, Redacted.value(tokens.hostTokenFor(a!.host_id!))), 200)
      })), 60_000)

  it.live("a host's environment holds no model key and no slot token; each slot gets exactly its own key", () =>
    withPool(({ dataDir, llm }) =>
      Effect.gen(function*() {
        const pool = yield* warmPool(2)
        const tokens = yield* InstanceTokens
        const [host] = yield* pool.hosts
        const env: Record<string, string> = JSON.parse(readFileSync(join(dataDir, "hosts", host!.id, "env.json"), "utf8"))
        assert.sameMembers(Object.keys(env), ["HOST_ID", "HOST_TOKEN", "HOST_CAPACITY", "POOL_URL", "XMTP_ENV", "PORT", "STATE_DIR"])
        const secrets = [
          ...[...llm.live.keys()].map((resourceId) => `secret-${resourceId}`),
          ...(yield* pool.list).map((r) => Redacted.value(tokens.tokenFor(r.id))),
        ]
        for (const secret of secrets) assert.notInclude(JSON.stringify(env), secret)
        for (const row of yield* pool.list) {
          const spec = JSON.parse(readFileSync(join(slotDir(dataDir, row.id)!, "spec.json"), "utf8"))
          const own = [...llm.live].find(([, owner]) => owner === row.id)![0]
          assert.deepStrictEqual(spec.model, { kind: "openrouter", apiKey: `secret-${own}`, model: "anthropic/claude-sonnet-4.5" })
          assert.deepStrictEqual(Object.keys(spec.tools), ["AGENTMAIL_INBOX_ID"], "tool variables, no model key")
          assert.strictEqual(spec.token, Redacted.value(tokens.tokenFor(row.id)))
        }
      })), 60_000)
})
