/**
 * Instance statuses and the one function allowed to change them.
 *
 *   starting ──ready──► idle ──claim──► claiming ──provisioned──► claimed
 *                                          │  └──joined, not accepted yet──► pending_acceptance ──accepted──► claimed
 *                                          │                                         └──failed/timeout──► crashed
 *                                          ├──provision failed, reset clean──► idle
 *                                          └──provision failed, not clean──► crashed
 *   starting ──stuck or compute failed──► dead        idle ──unhealthy/compute gone──► dead
 *   claimed ──compute gone──► crashed
 *
 * `crashed` = it had, or was getting, a conversation (kept for an operator, never destroyed automatically);
 * `dead` = never claimed (safe to reap). Every status write in the pool goes through `transition`.
 */
export const InstanceStatuses = [
  "starting",
  "idle",
  "claiming",
  "pending_acceptance",
  "claimed",
  "crashed",
  "dead",
] as const
export type InstanceStatus = (typeof InstanceStatuses)[number]

export type InstanceEvent =
  | { readonly _tag: "BecameReady" }
  | { readonly _tag: "StartTimedOut" }
  | { readonly _tag: "ComputeFailed" }
  | { readonly _tag: "BecameUnhealthy" }
  | { readonly _tag: "Claimed" }
  | { readonly _tag: "Provisioned"; readonly pendingAcceptance: boolean }
  | { readonly _tag: "ProvisionFailed"; readonly resetClean: boolean }
  | { readonly _tag: "JoinAccepted" }
  | { readonly _tag: "JoinFailed" }
  | { readonly _tag: "ClaimAbandoned" }

export type Transition =
  | { readonly ok: true; readonly to: InstanceStatus }
  | { readonly ok: false; readonly reason: string }

const to = (status: InstanceStatus): Transition => ({ ok: true, to: status })
const refuse = (from: InstanceStatus, event: InstanceEvent): Transition => ({
  ok: false,
  reason: `${event._tag} is not allowed from ${from}`,
})

export const transition = (from: InstanceStatus, event: InstanceEvent): Transition => {
  switch (event._tag) {
    case "BecameReady":
      return from === "starting" ? to("idle") : refuse(from, event)
    case "StartTimedOut":
      return from === "starting" ? to("dead") : refuse(from, event)
    case "ComputeFailed":
      switch (from) {
        case "starting":
        case "idle":
          return to("dead")
        case "claiming":
        case "pending_acceptance":
        case "claimed":
          return to("crashed")
        default:
          return refuse(from, event)
      }
    case "BecameUnhealthy":
      // An idle instance that stops answering can no longer be handed out; a claimed one is left alone
      // (it may be busy or restarting) and only a compute failure marks it crashed.
      return from === "idle" ? to("dead") : refuse(from, event)
    case "Claimed":
      return from === "idle" ? to("claiming") : refuse(from, event)
    case "Provisioned":
      return from === "claiming" ? to(event.pendingAcceptance ? "pending_acceptance" : "claimed") : refuse(from, event)
    case "ProvisionFailed":
      return from === "claiming" ? to(event.resetClean ? "idle" : "crashed") : refuse(from, event)
    case "JoinAccepted":
      return from === "pending_acceptance" ? to("claimed") : refuse(from, event)
    case "JoinFailed":
      return from === "pending_acceptance" ? to("crashed") : refuse(from, event)
    case "ClaimAbandoned":
      // The pool died while claiming: nobody knows what the instance was told, so it is not reused.
      return from === "claiming" ? to("crashed") : refuse(from, event)
  }
}

/** Statuses an operator may drain (never holding a conversation). */
export const drainable: ReadonlyArray<InstanceStatus> = ["idle", "starting", "dead"]
/** Statuses of an agent handed out to someone, whose name and instructions may change. */
export const configurable: ReadonlyArray<InstanceStatus> = ["claimed", "pending_acceptance"]
/** Statuses that count toward the pool's total. */
export const live: ReadonlyArray<InstanceStatus> = ["starting", "idle", "claiming", "pending_acceptance", "claimed"]
