import { Context, Schema } from "effect"
import type { Effect } from "effect"

/**
 * Where hosts run (a host = one supervisor + one OpenClaw gateway with up to `HOST_CAPACITY` agent slots). The pool
 * records a host row before it asks the provider for compute, and the provider names everything it creates after the
 * host id, so a pool that dies half-way can find and remove what it left.
 */

/** The provider's own references for one host (stored as JSON in `hosts.compute_ref`). */
export type ComputeRef = Readonly<Record<string, string>>

export interface ComputeSpec {
  readonly hostId: string
  /**
   * The host's environment: `HostEnv` of contract/index.ts, encoded (HOST_ID, HOST_TOKEN, HOST_CAPACITY, POOL_URL,
   * …). Never a model key or a slot token: those arrive per slot over `PUT /host/slots/:id`. The provider adds
   * `PORT` and `STATE_DIR` when it chooses them.
   */
  readonly env: Readonly<Record<string, string>>
}

export interface ComputeHandle {
  readonly ref: ComputeRef
  /** Base URL of the host's routes (`/host/health`, `/host/slots/:id`, `/slots/:id/…`). */
  readonly url: string
}

/**
 * What the provider says of a host's compute, independent of its health:
 * - `deploying`: being created or (re)started; give it time.
 * - `running`: up as far as the provider knows; the health check decides if it is ready.
 * - `failed`: crashed or failed to deploy and will not come back by itself.
 * - `gone`: the provider has no such thing (deleted, or never created).
 */
export type ComputeState = "deploying" | "running" | "failed" | "gone"

export interface ComputeHost {
  readonly hostId: string
  readonly ref: ComputeRef
}

export interface ComputeSurvey {
  readonly states: ReadonlyMap<string, ComputeState>
  readonly unknown: ReadonlyArray<ComputeHost>
}

export class ComputeError extends Schema.TaggedError<ComputeError>()("ComputeError", {
  provider: Schema.String,
  operation: Schema.String,
  message: Schema.String,
}) {}

export class ComputeProvider extends Context.Service<ComputeProvider, {
  /** Short name stored with each host (`local`, `railway`). */
  readonly kind: string
  /** Creates compute for one host and starts it. On failure it removes whatever it had created. */
  create(spec: ComputeSpec): Effect.Effect<ComputeHandle, ComputeError>
  /** Removes a host's compute (and its volume). Idempotent: destroying what is already gone succeeds. */
  destroy(host: ComputeHost): Effect.Effect<void, ComputeError>
  /** States of many hosts in as few provider calls as it can (one batch, not one call per host). */
  status(hosts: ReadonlyArray<ComputeHost>): Effect.Effect<ReadonlyMap<string, ComputeState>, ComputeError>
  /** Everything the provider holds under this pool's naming, to find orphans after a crash. */
  readonly listHosts: Effect.Effect<ReadonlyArray<ComputeHost>, ComputeError>
  /**
   * One pass for a reconcile tick: the states of the `known` hosts and whatever else the provider holds under this
   * pool's naming (orphan candidates), so a tick costs one listing, not a status pass plus a listing pass.
   */
  survey(known: ReadonlyArray<ComputeHost>): Effect.Effect<ComputeSurvey, ComputeError>
}>()("pool/compute/ComputeProvider") {}
