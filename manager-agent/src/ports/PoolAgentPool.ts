/**
 * `AgentPool` over the pool core, in process: the same `Pool.claim` the HTTP API calls, so the manager and the API
 * give the same answers. Pool errors become `AgentPoolError` reasons; their messages go to logs only.
 */
import { Effect, Layer } from "effect"
import { type ClaimStep, validateReconfigure } from "../../../pool/src/domain/Claim.ts"
import { Pool } from "../../../pool/src/Pool.ts"
import { AgentPool, AgentPoolError } from "./AgentPool.ts"

const reasonOf = (tag: string): AgentPoolError["reason"] => {
  switch (tag) {
    case "NoIdleInstance":
      return "no_idle"
    case "InvalidRequest":
    case "IdempotencyConflict":
      return "invalid"
    case "ProvisionFailed":
      return "provision_failed"
    case "InstanceNotFound":
      return "not_found"
    default:
      return "unavailable"
  }
}

const toAgentPoolError = (error: { readonly _tag: string; readonly error: string }) =>
  new AgentPoolError({ reason: reasonOf(error._tag), message: error.error })

export const PoolAgentPoolLayer = Layer.effect(
  AgentPool,
  Effect.gen(function* () {
    const pool = yield* Pool
    return AgentPool.of({
      claim: (request, onWaiting) =>
        Effect.gen(function* () {
          const context = yield* Effect.context<never>()
          // The pool reports steps synchronously from inside the claim; the chat notice runs on its own fiber.
          const onStep = onWaiting === undefined
            ? undefined
            : (step: ClaimStep) => {
              if (step.step === "capacity") Effect.runForkWith(context)(onWaiting(step.etaSeconds))
            }
          return yield* pool.claim(request, onStep)
        }).pipe(Effect.mapError(toAgentPoolError)),
      kill: (instanceId) => pool.kill(instanceId).pipe(Effect.mapError(toAgentPoolError)),
      reconfigure: (instanceId, change) => {
        const checked = validateReconfigure(change)
        if (!checked.ok) return Effect.fail(new AgentPoolError({ reason: "invalid", message: checked.error }))
        return pool.reconfigure(instanceId, checked.request).pipe(Effect.asVoid, Effect.mapError(toAgentPoolError))
      },
    })
  }),
)
