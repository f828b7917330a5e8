import { Context, Schema } from "effect"
import type { Effect } from "effect"

/**
 * Where agent instances run. The pool records an instance row before it asks the provider for compute, and names
 * everything it creates after the instance id, so a pool that dies half-way can find and remove what it left.
 */

/** The provider's own references for one instance (stored as JSON in `instances.compute_ref`). */
export type ComputeRef = Readonly<Record<string, string>>

export interface ComputeSpec {
  readonly instanceId: string
  /** Environment of the instance: contract variables (INSTANCE_TOKEN, POOL_URL, …), model and tool variables. */
  readonly env: Readonly<Record<string, string>>
}

export interface ComputeHandle {
  readonly ref: ComputeRef
  /** Base URL of the instance contract (`/pool/health`, `/pool/provision`, `/pool/reset`). */
  readonly url: string
}

/**
 * What the provider says of an instance's compute, independent of its health:
 * - `deploying`: being created or (re)started; give it time.
 * - `running`: up as far as the provider knows; the health check decides if it is ready.
 * - `failed`: crashed or failed to deploy and will not come back by itself.
 * - `gone`: the provider has no such thing (deleted, or never created).
 */
export type ComputeState = "deploying" | "running" | "failed" | "gone"

export interface ComputeInstance {
  readonly instanceId: string
  readonly ref: ComputeRef
}

export interface ComputeSurvey {
  readonly states: ReadonlyMap<string, ComputeState>
  readonly unknown: ReadonlyArray<ComputeInstance>
}

export class ComputeError extends Schema.TaggedError<ComputeError>()("ComputeError", {
  provider: Schema.String,
  operation: Schema.String,
  message: Schema.String,
}) {}

export class ComputeProvider extends Context.Service<ComputeProvider, {
  /** Short name stored with each instance (`local`, `railway`). */
  readonly kind: string
  /** Creates compute for one instance and starts it. On failure it removes whatever it had created. */
  create(spec: ComputeSpec): Effect.Effect<ComputeHandle, ComputeError>
  /** Removes an instance's compute. Idempotent: destroying what is already gone succeeds. */
  destroy(instance: ComputeInstance): Effect.Effect<void, ComputeError>
  /** States of many instances in as few provider calls as it can (one batch, not one call per instance). */
  status(instances: ReadonlyArray<ComputeInstance>): Effect.Effect<ReadonlyMap<string, ComputeState>, ComputeError>
  /** Instance ids of everything the provider holds under this pool's naming, to find orphans after a crash. */
  readonly listInstanceIds: Effect.Effect<ReadonlyArray<ComputeInstance>, ComputeError>
  /**
   * One pass for a reconcile tick: the states of the `known` instances and whatever else the provider holds under
   * this pool's naming (orphan candidates), so a tick costs one listing, not a status pass plus a listing pass.
   */
  survey(known: ReadonlyArray<ComputeInstance>): Effect.Effect<ComputeSurvey, ComputeError>
}>()("pool/compute/ComputeProvider") {}
