import { PgClient } from "@effect/sql-pg"
import { Context, Duration, Effect, Exit, Layer, Option, PubSub, Queue } from "effect"
import { SqlClient } from "effect/sql"
import type { ClaimRequest, ClaimResult } from "../domain/Claim.ts"
import { PoolProcess } from "../PoolProcess.ts"

/**
 * Idempotent claims. The first claim with a key inserts the row, stamped with its pool process; a repeat waits for
 * and returns its result, so a retried request never gets a second instance. Only a successful claim is kept: a
 * failed one gave no instance away, so its key is freed for the client's retry. A key whose first claim's process
 * died (a crash left the row without a result) is freed as soon as that process is declared dead.
 *
 * Waiting polls nothing: a finished claim is announced (in this process, and by NOTIFY to the others), and the
 * owner's death ends a blocked lock request (`PoolProcess.awaitGone`). A waiter that is interrupted (its client
 * went away) stops at once.
 */
export class Claims extends Context.Service<Claims, {
  /** "New" carries the owner it was stamped with, which `complete` needs. */
  begin(key: string, request: ClaimRequest): Effect.Effect<
    { readonly _tag: "New"; readonly owner: string } | { readonly _tag: "Existing" | "Mismatch" }
  >
  /** Records the outcome, unless the key was freed meanwhile because its owner was declared dead. */
  complete(key: string, owner: string, exit: Exit.Exit<ClaimResult, unknown>): Effect.Effect<void>
  /** The result of the claim that holds this key; None if that claim failed or its process died (the key is free). */
  awaitOutcome(key: string): Effect.Effect<Option.Option<ClaimResult>>
}>()("pool/db/Claims") {
  static readonly layer = Layer.effect(
    Claims,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const processInfo = yield* PoolProcess
      /** Keys whose claim finished; "*" wakes every waiter (after a gap in which a NOTIFY may have been missed). */
      const finished = yield* PubSub.unbounded<string>()

      if (processInfo.shared) {
        const pg = yield* PgClient.PgClient
        yield* Effect.scoped(Effect.gen(function*() {
          const notices = yield* pg.listen(finishedChannel)
          yield* PubSub.publish(finished, "*")
          while (true) yield* PubSub.publish(finished, (yield* Queue.take(notices)).payload)
        })).pipe(
          Effect.catchCause((cause) =>
            Effect.logWarning("claim notifications interrupted; listening again", cause).pipe(
              Effect.andThen(Effect.sleep(Duration.millis(100))),
            )
          ),
          Effect.forever,
          Effect.forkScoped,
        )
      }

      // What makes two requests the same claim. The skills in any order are the same tools.
      const fingerprint = (r: ClaimRequest) =>
        JSON.stringify([
          r.agentName,
          r.instructions,
          r.mode,
          r.joinUrl ?? null,
          r.conversationId ?? null,
          r.addedBy ?? null,
          r.skills === undefined ? null : [...r.skills].sort(),
        ])

      const begin = Effect.fn("Claims.begin")(function*(key: string, request: ClaimRequest) {
        const owner = processInfo.id
        const inserted = yield* sql<{ idempotency_key: string }>`INSERT INTO claims (idempotency_key, request, owner)
          VALUES (${key}, ${fingerprint(request)}::jsonb, ${owner}) ON CONFLICT (idempotency_key) DO NOTHING
          RETURNING idempotency_key`
        if (inserted.length > 0) return { _tag: "New" as const, owner }
        const existing = yield* sql<{ request: unknown }>`SELECT request FROM claims WHERE idempotency_key = ${key}`
        // The first claim failed and freed the key between our insert and this read: the caller tries again.
        if (existing.length === 0) return { _tag: "Existing" as const }
        return JSON.stringify(existing[0]!.request) === JSON.stringify(JSON.parse(fingerprint(request)))
          ? { _tag: "Existing" as const }
          : { _tag: "Mismatch" as const }
      }, Effect.orDie)

      const announce = (key: string) =>
        Effect.gen(function*() {
          yield* PubSub.publish(finished, key)
          if (processInfo.shared) yield* sql`SELECT pg_notify(${finishedChannel}, ${key})`
        })

      const complete = Effect.fn("Claims.complete")(function*(key: string, owner: string, exit: Exit.Exit<ClaimResult, unknown>) {
        if (Exit.isSuccess(exit)) {
          yield* sql`UPDATE claims SET result = ${JSON.stringify(exit.value)}::jsonb, instance_id = ${exit.value.instanceId},
            completed_at = now() WHERE idempotency_key = ${key} AND owner = ${owner} AND result IS NULL`
        } else {
          yield* sql`DELETE FROM claims WHERE idempotency_key = ${key} AND owner = ${owner} AND result IS NULL`
        }
        yield* announce(key)
      }, Effect.orDie)

      const awaitOutcome = Effect.fn("Claims.awaitOutcome")(function*(key: string) {
        while (true) {
          const outcome = yield* Effect.scoped(Effect.gen(function*() {
            // Subscribed before reading, so an announcement after the read is not missed.
            const subscription = yield* PubSub.subscribe(finished)
            const rows = yield* sql<{ result: ClaimResult | null; owner: string | null }>`SELECT result, owner
              FROM claims WHERE idempotency_key = ${key}`
            if (rows.length === 0) return Option.some(Option.none<ClaimResult>())
            const { result, owner } = rows[0]!
            if (result !== null) return Option.some(Option.some(result))
            if (owner === null || !(yield* processInfo.isAlive(owner))) {
              // Its process is dead for good (fenced): nothing will ever complete this claim.
              yield* sql`DELETE FROM claims WHERE idempotency_key = ${key} AND result IS NULL
                AND owner IS NOT DISTINCT FROM ${owner}`
              yield* announce(key)
              return Option.some(Option.none<ClaimResult>())
            }
            const announced = Effect.gen(function*() {
              while (true) {
                const done = yield* PubSub.take(subscription)
                if (done === key || done === "*") return
              }
            })
            yield* Effect.raceFirst(announced, processInfo.awaitGone(owner))
            return Option.none<Option.Option<ClaimResult>>()
          }))
          if (Option.isSome(outcome)) return outcome.value
        }
      }, Effect.orDie)

      return Claims.of({ begin, complete, awaitOutcome })
    }),
  )
}

const finishedChannel = "convos_claim_finished"
