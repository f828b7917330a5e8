import type { ComputeState } from "../compute/ComputeProvider.ts"
import type { InstanceEvent, InstanceStatus } from "./InstanceStatus.ts"

/** What one reconcile tick knows about one instance. */
export interface Observation {
  readonly status: InstanceStatus
  readonly ageMs: number
  /** Time since the claim started (claiming / pending_acceptance). */
  readonly claimAgeMs: number | null
  /** Compute state per the provider; `gone` for an instance whose compute was never created. */
  readonly compute: ComputeState
  /** Health reply, or null when the instance did not answer (or was not asked). */
  readonly health: { readonly ready: boolean; readonly conversationId: string | null } | null
  /** Consecutive failed health checks before this one. */
  readonly healthFailures: number
  /** Whether the pool process that owns the current warm-up or claim is still alive. */
  readonly ownerAlive: boolean
  readonly hasCompute: boolean
}

export interface ReconcilePolicy {
  /** A `starting` instance not ready after this long is dead. */
  readonly startTimeoutMs: number
  /** Failed health checks in a row before an idle instance is taken out of the pool. */
  readonly unhealthyAfter: number
  /** A `pending_acceptance` join not accepted after this long has failed. */
  readonly pendingAcceptanceTimeoutMs: number
}

export type Decision =
  | { readonly _tag: "Event"; readonly event: InstanceEvent; readonly why: string }
  | { readonly _tag: "Reap"; readonly why: string }
  | { readonly _tag: "Keep" }

const event = (e: InstanceEvent, why: string): Decision => ({ _tag: "Event", event: e, why })
const keep: Decision = { _tag: "Keep" }

/**
 * The reconcile rules, as one pure function of what a tick observed. A claimed instance is never destroyed here:
 * at worst it is marked crashed for an operator. Dead instances (never claimed) are reaped.
 */
export const decide = (o: Observation, policy: ReconcilePolicy): Decision => {
  const computeDown = o.compute === "failed" || o.compute === "gone"
  switch (o.status) {
    case "starting": {
      if (o.health?.ready) return event({ _tag: "BecameReady" }, "ready")
      if (!o.hasCompute && !o.ownerAlive) return event({ _tag: "StartTimedOut" }, "warm-up was interrupted")
      if (o.hasCompute && computeDown) return event({ _tag: "ComputeFailed" }, `compute ${o.compute}`)
      if (o.ageMs > policy.startTimeoutMs) return event({ _tag: "StartTimedOut" }, "not ready in time")
      return keep
    }
    case "idle": {
      if (computeDown) return event({ _tag: "ComputeFailed" }, `compute ${o.compute}`)
      // Being restarted by its provider: silence is expected until it is up again.
      if (o.compute === "deploying") return keep
      if (o.health === null && o.healthFailures + 1 >= policy.unhealthyAfter) {
        return event({ _tag: "BecameUnhealthy" }, `no health answer ${policy.unhealthyAfter} times in a row`)
      }
      if (o.health !== null && !o.health.ready && o.healthFailures + 1 >= policy.unhealthyAfter) {
        return event({ _tag: "BecameUnhealthy" }, "not ready any more")
      }
      return keep
    }
    case "claiming":
      // Only the process doing the claim finishes it; if that process died, nobody knows what the instance was
      // told, so it is not handed out again.
      return o.ownerAlive ? keep : event({ _tag: "ClaimAbandoned" }, "the pool process claiming it stopped")
    case "pending_acceptance": {
      if (computeDown) return event({ _tag: "ComputeFailed" }, `compute ${o.compute}`)
      if (o.health?.conversationId) return event({ _tag: "JoinAccepted" }, "joined")
      if (o.claimAgeMs !== null && o.claimAgeMs > policy.pendingAcceptanceTimeoutMs) {
        return event({ _tag: "JoinFailed" }, "the join request was not accepted in time")
      }
      return keep
    }
    case "claimed":
      return computeDown ? event({ _tag: "ComputeFailed" }, `compute ${o.compute}`) : keep
    case "crashed":
      return keep
    case "dead":
      return { _tag: "Reap", why: "dead and never claimed" }
  }
}

/** What a slot's compute is, seen through its host (a slot lives and dies with its host). */
export const slotCompute = (input: {
  readonly putOnHost: boolean
  readonly host: { readonly compute: ComputeState; readonly answered: boolean; readonly gatewayReady: boolean } | undefined
  readonly listed: boolean
}): ComputeState => {
  if (!input.putOnHost || input.host === undefined || input.host.compute === "gone") return "gone"
  // A crashed, restarting or silent host: its slots come back with it (same state dir, same conversations), so
  // they are kept; none is handed out meanwhile (the host is not ready).
  if (input.host.compute !== "running" || !input.host.answered || !input.host.gatewayReady) return "deploying"
  return input.listed ? "running" : "gone"
}

/** How many instances to create now: up to the idle target, never past the total cap. */
export const replenishCount = (input: {
  readonly targetIdle: number
  readonly maxTotal: number
  readonly idle: number
  readonly starting: number
  /** Instances that count toward the cap (everything but dead and crashed). */
  readonly live: number
  readonly requested?: number | undefined
}): number => {
  const wanted = input.requested ?? Math.max(0, input.targetIdle - input.idle - input.starting)
  const room = Math.max(0, input.maxTotal - input.live)
  return Math.max(0, Math.min(wanted, room))
}
