import { Context, Schema } from "effect"
import type { Effect, Option, Redacted } from "effect"

/**
 * Per-agent provider resources (an LLM key with a spending cap, an email inbox, a phone number).
 *
 * The pool writes an `instance_resources` row (status `creating`) *before* it calls `create`, so a crash between the
 * provider call and the database write leaves a row that names the instance: the next reconcile asks the provider
 * to `find` the resource by that instance id and deletes it. Nothing a provider creates can be lost.
 */

export interface CreatedResource {
  /** The provider's id for the resource (key hash, inbox id, E.164 number); safe to store and show. */
  readonly resourceId: string
  /** Environment the instance gets for this resource; values may be secrets and are never stored by the pool. */
  readonly env: Readonly<Record<string, Redacted.Redacted<string>>>
  /** Non-secret details worth keeping (limits, profile ids). */
  readonly meta: Readonly<Record<string, string | number | boolean>>
}

export class ToolError extends Schema.TaggedError<ToolError>()("ToolError", {
  tool: Schema.String,
  operation: Schema.String,
  message: Schema.String,
  /** Whether trying again later may succeed (timeouts, 429, 5xx). */
  retryable: Schema.Boolean,
}) {}

export interface ToolProvider {
  /** Stable id stored in `instance_resources.tool` (`openrouter`, `agentmail`, `telnyx`, …). */
  readonly tool: string
  /** Environment keys this tool gives an instance (documented in `/registry`-like listings). */
  readonly envKeys: ReadonlyArray<string>
  /** Creates the resource for an instance. Must be safe to retry for the same instance id (idempotent naming). */
  create(instanceId: string): Effect.Effect<CreatedResource, ToolError>
  /** Deletes or releases a resource. Idempotent: a resource that is already gone is success. */
  release(instanceId: string, resourceId: string): Effect.Effect<void, ToolError>
  /** Finds a resource created for this instance whose id the pool never recorded (a crash mid-create). */
  find(instanceId: string): Effect.Effect<Option.Option<string>, ToolError>
}

/** The tool providers this pool provisions for every instance, in warm-up order. */
export class ToolProviders extends Context.Service<ToolProviders, ReadonlyArray<ToolProvider>>()(
  "pool/resources/ToolProviders",
) {}
