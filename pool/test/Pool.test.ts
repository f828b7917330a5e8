import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Option } from "effect"
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Instances } from "../src/db/Instances.ts"
import type { ClaimRequest } from "../src/domain/Claim.ts"
import { Pool } from "../src/Pool.ts"
import { Reconciler } from "../src/Reconciler.ts"
import { TestDatabaseLayer } from "../../test/db/testDatabase.ts"
import { makeFakeTool } from "../../test/fakes/fakeTool.ts"
import { controlInstance, makeDataDir, poolLayer } from "../../test/pool/poolHarness.ts"
import { waitFor } from "../../test/pool/waitFor.ts"

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
  body: (ctx: { dataDir: string; llm: ReturnType<typeof makeFakeTool>; mail: ReturnType<typeof makeFakeTool> }) => Effect.Effect<A, E, Pool | Instances | Reconciler>,
) =>
  Effect.gen(function*() {
    const { dir, cleanup } = makeDataDir()
    yield* Effect.addFinalizer(() => Effect.sync(cleanup))
    const llm = makeFakeTool("llm", "OPENROUTER_API_KEY")
    const mail = makeFakeTool("mail", "AGENTMAIL_INBOX_ID")
    return yield* body({ dataDir: dir, llm, mail }).pipe(
      Effect.provide(poolLayer({ dataDir: dir, tools: [llm.provider, mail.provider] }).pipe(Layer.provide(TestDatabaseLayer()))),
    )
  }).pipe(Effect.scoped)

describe("Pool", () => {
  it.live("warms instances as real processes until they report ready, then claims hand out distinct ones", () =>
    withPool(({ llm, mail }) =>
      Effect.gen(function*() {
        const pool = yield* Pool
        const created = yield* pool.replenish(3)
        assert.strictEqual(created.length, 3)
        yield* idleCount(3)
        assert.strictEqual(llm.live.size, 3, "one LLM key per instance")
        assert.strictEqual(mail.live.size, 3, "one inbox per instance")
        const results = yield* Effect.all([pool.claim(request()), pool.claim(request()), pool.claim(request())], {
          concurrency: "unbounded",
        })
        assert.strictEqual(new Set(results.map((r) => r.instanceId)).size, 3)
        for (const r of results) {
          assert.strictEqual(r.status, "claimed")
          assert.match(r.inviteUrl ?? "", /^https:\/\/dev\.convos\.org\/v2\?i=/)
          assert.isFalse(r.joined)
          assert.isNotEmpty(r.inboxId)
        }
        const none = yield* Effect.exit(pool.claim(request()))
        assert.isTrue(Exit.isFailure(none))
        assert.include(JSON.stringify(none), "NoIdleInstance")
      })), 60_000)

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

  it.live("a warm-up whose provider fails rolls back: no resource, no row, no process", () =>
    withPool(({ dataDir, llm, mail }) =>
      Effect.gen(function*() {
        const pool = yield* Pool
        mail.faults.failCreate = true
        const [id] = yield* pool.replenish(1)
        yield* waitFor("rollback", Effect.map(pool.counts, (c) => c.starting === 0 && c.dead === 0 ? true : undefined))
        assert.strictEqual(llm.live.size, 0, "the LLM key created before the failure was released")
        assert.strictEqual(mail.live.size, 0)
        assert.isTrue(Option.isNone(yield* (yield* Instances).findById(id!)))
        assert.isFalse(existsSync(join(dataDir, "instances", id!)))
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

  it.live("kill destroys a claimed instance's process and releases its resources", () =>
    withPool(({ dataDir, llm }) =>
      Effect.gen(function*() {
        const pool = yield* warmPool(1)
        const claimed = yield* pool.claim(request())
        yield* pool.kill(claimed.instanceId)
        assert.strictEqual(llm.live.size, 0)
        assert.isFalse(existsSync(join(dataDir, "instances", claimed.instanceId)))
        assert.isTrue(Option.isNone(yield* (yield* Instances).findById(claimed.instanceId)))
        const unknown = yield* Effect.exit(pool.kill("nope"))
        assert.include(JSON.stringify(unknown), "InstanceNotFound")
      })), 60_000)

  it.live("reconfigure: the instance takes the new name and instructions first, then the row records them", () =>
    withPool(({ dataDir }) =>
      Effect.gen(function*() {
        const pool = yield* warmPool(2)
        const claimed = yield* pool.claim(request({ managerInboxId: "e".repeat(64) }))
        const binding = () =>
          JSON.parse(readFileSync(join(dataDir, "instances", claimed.instanceId, "state", "binding.json"), "utf8"))
        assert.strictEqual(binding().managerInboxId, "e".repeat(64), "the provision carried the manager's inbox")

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

  it.live("a crashed instance process is restarted with its state, and compute no row names is reaped", () =>
    withPool(({ dataDir }) =>
      Effect.gen(function*() {
        const pool = yield* Pool
        const instances = yield* Instances
        const [id] = yield* pool.replenish(1)
        yield* idleCount(1)
        const before = Option.getOrThrow(yield* instances.findById(id!))
        process.kill(-Number(before.compute_ref.pid), "SIGKILL")
        yield* Effect.sleep("200 millis")
        yield* (yield* Reconciler).tick // the provider sees the dead process and starts it again
        // Ticks are seconds apart in production; a few spaced ticks let the restarted process come up.
        yield* waitFor("the restarted instance to answer", Effect.gen(function*() {
          yield* Effect.sleep("700 millis")
          yield* (yield* Reconciler).tick
          const row = Option.getOrThrow(yield* instances.findById(id!))
          return row.health_failures === 0 && row.last_health_at !== null &&
              row.last_health_at.getTime() > Date.now() - 1_000
            ? row
            : undefined
        }))
        const after = Option.getOrThrow(yield* instances.findById(id!))
        assert.strictEqual(after.status, "idle")
        assert.strictEqual(after.inbox_id, before.inbox_id, "same identity after the restart")
        assert.notStrictEqual(after.compute_ref.pid, undefined)

        // An instance directory no row names (a pool that died between its two deletes) is removed.
        const orphan = join(dataDir, "instances", "orphan123456")
        mkdirSync(orphan, { recursive: true })
        writeFileSync(join(orphan, "env.json"), "{}")
        const report = yield* (yield* Reconciler).tick
        assert.isAtLeast(report.orphans, 1)
        assert.isFalse(existsSync(orphan))
      })), 60_000)
})
