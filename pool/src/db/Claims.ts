import { Context, Duration, Effect, Exit, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import type { ClaimRequest, ClaimResult } from "../domain/Claim.ts"

/**
 * Idempotent claims. The first claim with a key inserts the row; a repeat waits for and returns its result, so a
 * retried request never gets a second instance. Only a successful claim is kept: a failed one gave no instance
 * away, so its key is freed for the client's retry.
 */
export class Claims extends Context.Service<Claims, {
  begin(key: string, request: ClaimRequest): Effect.Effect<{ readonly _tag: "New" | "Existing" | "Mismatch" }>
  complete(key: string, exit: Exit.Exit<ClaimResult, unknown>): Effect.Effect<void>
  /** The result of the claim that holds this key; None if that claim failed (the key is free again). */
  awaitOutcome(key: string): Effect.Effect<Option.Option<ClaimResult>>
}>()("pool/db/Claims") {
  static readonly layer = Layer.effect(
    Claims,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const fingerprint = (r: ClaimRequest) =>
        JSON.stringify([r.agentName, r.instructions, r.mode, r.joinUrl ?? null, r.conversationId ?? null, r.addedBy ?? null])

      const begin = Effect.fn("Claims.begin")(function*(key: string, request: ClaimRequest) {
        const inserted = yield* sql<{ idempotency_key: string }>`INSERT INTO claims (idempotency_key, request)
          VALUES (${key}, ${fingerprint(request)}::jsonb) ON CONFLICT (idempotency_key) DO NOTHING
          RETURNING idempotency_key`
        if (inserted.length > 0) return { _tag: "New" as const }
        const existing = yield* sql<{ request: unknown }>`SELECT request FROM claims WHERE idempotency_key = ${key}`
        // The first claim failed and freed the key between our insert and this read: the caller tries again.
        if (existing.length === 0) return { _tag: "Existing" as const }
        return JSON.stringify(existing[0]!.request) === JSON.stringify(JSON.parse(fingerprint(request)))
          ? { _tag: "Existing" as const }
          : { _tag: "Mismatch" as const }
      }, Effect.orDie)

      const complete = Effect.fn("Claims.complete")(function*(key: string, exit: Exit.Exit<ClaimResult, unknown>) {
        if (Exit.isSuccess(exit)) {
          yield* sql`UPDATE claims SET result = ${JSON.stringify(exit.value)}::jsonb, instance_id = ${exit.value.instanceId},
            completed_at = now() WHERE idempotency_key = ${key}`
        } else {
          yield* sql`DELETE FROM claims WHERE idempotency_key = ${key} AND result IS NULL`
        }
      }, Effect.orDie)

      const awaitOutcome = Effect.fn("Claims.awaitOutcome")(function*(key: string) {
        const deadline = Date.now() + 120_000
        while (Date.now() < deadline) {
          const rows = yield* sql<{ result: ClaimResult | null }>`SELECT result FROM claims WHERE idempotency_key = ${key}`
          if (rows.length === 0) return Option.none<ClaimResult>()
          const result = rows[0]!.result
          if (result !== null) return Option.some(result)
          yield* Effect.sleep(Duration.millis(50))
        }
        return Option.none<ClaimResult>()
      }, Effect.orDie)

      return Claims.of({ begin, complete, awaitOutcome })
    }),
  )
}
