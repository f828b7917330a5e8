import { Config, Context, Duration, Effect, Layer, Option, Redacted, Schema } from "effect"
import { FetchHttpClient, HttpClient } from "effect/http"
import {
  decodeBody,
  makeRest,
  rateLimitRetry,
  RestCallError,
  toToolError,
  transientRetry,
} from "./providerRest.ts"
import type { CreatedResource, ToolError, ToolProvider } from "./ToolProvider.ts"

/**
 * An OpenRouter API key per agent, made with the pool's management key: a spending limit that resets monthly, named
 * `<prefix><instanceId>` so a key whose hash the pool never recorded is found again by name. The instance gets only
 * its own key (`OPENROUTER_API_KEY`); the management key never leaves the pool.
 *
 * Hand-written REST rather than the official `@openrouter/sdk`: every call goes through `providerRest`, where the
 * pool's retry policy, timeouts, interruption and secret-free errors live, and the SDK rejects any answer missing one of
 * its 20-odd key fields although the pool reads four. The paths and fields match the SDK (1.3.19); the fake is held to
 * the SDK by test/fakes/sdkConformance.test.ts.
 */

export const tool = "openrouter"

export interface OpenRouterOptions {
  readonly apiUrl: string
  readonly managementKey: Redacted.Redacted<string>
  /** Dollars per reset period. */
  readonly keyLimit: number
  readonly limitReset: "daily" | "weekly" | "monthly"
  readonly namePrefix: string
  readonly requestTimeout: Duration.Input
  readonly retryBase: Duration.Input
}

export interface KeyCredits {
  readonly limit: number | null
  readonly usage: number
  readonly remaining: number | null
  readonly limitReset: string | null
  readonly disabled: boolean
}

export interface AccountCredits {
  readonly totalCredits: number
  readonly totalUsage: number
}

const KeyData = Schema.Struct({
  hash: Schema.String,
  name: Schema.String,
  disabled: Schema.optional(Schema.Boolean),
  limit: Schema.optional(Schema.NullOr(Schema.Number)),
  limit_remaining: Schema.optional(Schema.NullOr(Schema.Number)),
  limit_reset: Schema.optional(Schema.NullOr(Schema.String)),
  usage: Schema.optional(Schema.Number),
})
const CreatedKey = Schema.Struct({ key: Schema.String, data: KeyData })
const KeyPage = Schema.Struct({ data: Schema.Array(KeyData) })
const OneKey = Schema.Struct({ data: KeyData })
const Credits = Schema.Struct({ data: Schema.Struct({ total_credits: Schema.Number, total_usage: Schema.Number }) })

export class OpenRouter extends Context.Service<OpenRouter, {
  readonly tool: ToolProvider
  /** Limit and usage of one agent's key (for the pool's status/credits route). */
  keyCredits(hash: string): Effect.Effect<KeyCredits, ToolError>
  /** Sets a key's spending limit (a top-up raises it); the same call twice is harmless. */
  setKeyLimit(hash: string, limit: number): Effect.Effect<KeyCredits, ToolError>
  /** The whole account's credits and usage. */
  readonly accountCredits: Effect.Effect<AccountCredits, ToolError>
}>()("pool/resources/OpenRouter") {
  static readonly make = (options: OpenRouterOptions) =>
    Effect.gen(function*() {
      const rest = makeRest(yield* HttpClient.HttpClient, {
        baseUrl: options.apiUrl,
        key: options.managementKey,
        requestTimeout: options.requestTimeout,
      })
      const nameOf = (instanceId: string) => `${options.namePrefix}${instanceId}`

      /** Hashes of every key with this name (offset paging until an empty page). */
      const hashesNamed = (name: string): Effect.Effect<ReadonlyArray<string>, RestCallError> =>
        Effect.gen(function*() {
          const hashes: Array<string> = []
          for (let offset = 0;; ) {
            const page = yield* rest("listKeys", {
              method: "GET",
              path: "/keys",
              query: { offset: String(offset), include_disabled: "true" },
            }).pipe(
              Effect.retry(transientRetry(options.retryBase)),
              Effect.flatMap((response) => decodeBody("listKeys", KeyPage)(response.body)),
            )
            if (page.data.length === 0) return hashes
            for (const key of page.data) if (key.name === name) hashes.push(key.hash)
            offset += page.data.length
          }
        })

      const deleteKey = (hash: string) =>
        rest("deleteKey", { method: "DELETE", path: `/keys/${encodeURIComponent(hash)}`, accept: [404] }).pipe(
          Effect.retry(transientRetry(options.retryBase)),
          Effect.asVoid,
        )

      const create = Effect.fn("OpenRouter.create")(function*(instanceId: string) {
        const name = nameOf(instanceId)
        // A key's secret is shown only once, at creation: a retried create replaces any key left by an earlier try.
        yield* Effect.forEach(yield* hashesNamed(name), deleteKey, { discard: true })
        const created = yield* rest("createKey", {
          method: "POST",
          path: "/keys",
          body: { name, limit: options.keyLimit, limit_reset: options.limitReset },
        }).pipe(
          Effect.retry(rateLimitRetry(options.retryBase)),
          Effect.flatMap((response) => decodeBody("createKey", CreatedKey)(response.body)),
          // A 5xx or timeout may still have made the key: remove it now rather than wait for a reconcile.
          Effect.tapError(() => hashesNamed(name).pipe(
            Effect.flatMap((hashes) => Effect.forEach(hashes, deleteKey, { discard: true })),
            Effect.ignore,
          )),
        )
        return {
          resourceId: created.data.hash,
          env: { OPENROUTER_API_KEY: Redacted.make(created.key) },
          meta: { name, limit: options.keyLimit, limitReset: options.limitReset },
        } satisfies CreatedResource
      }, (effect) => Effect.mapError(effect, toToolError(tool, "create")))

      const release = Effect.fn("OpenRouter.release")(function*(_instanceId: string, hash: string) {
        yield* deleteKey(hash)
      }, (effect) => Effect.mapError(effect, toToolError(tool, "release")))

      const find = Effect.fn("OpenRouter.find")(function*(instanceId: string) {
        const hashes = yield* hashesNamed(nameOf(instanceId))
        return Option.fromNullishOr(hashes[0])
      }, (effect) => Effect.mapError(effect, toToolError(tool, "find")))

      const creditsOf = (data: typeof KeyData.Type): KeyCredits => ({
        limit: data.limit ?? null,
        usage: data.usage ?? 0,
        remaining: data.limit_remaining ?? null,
        limitReset: data.limit_reset ?? null,
        disabled: data.disabled ?? false,
      })

      const keyCredits = Effect.fn("OpenRouter.keyCredits")(function*(hash: string) {
        const { data } = yield* rest("getKey", { method: "GET", path: `/keys/${encodeURIComponent(hash)}` }).pipe(
          Effect.retry(transientRetry(options.retryBase)),
          Effect.flatMap((response) => decodeBody("getKey", OneKey)(response.body)),
        )
        return creditsOf(data)
      }, (effect) => Effect.mapError(effect, toToolError(tool, "keyCredits")))

      const setKeyLimit = Effect.fn("OpenRouter.setKeyLimit")(function*(hash: string, limit: number) {
        if (!Number.isFinite(limit) || limit < 0) {
          return yield* new RestCallError({ operation: "updateKey", message: `invalid limit ${limit}`, retryable: false })
        }
        const { data } = yield* rest("updateKey", {
          method: "PATCH",
          path: `/keys/${encodeURIComponent(hash)}`,
          body: { limit },
        }).pipe(
          Effect.retry(transientRetry(options.retryBase)),
          Effect.flatMap((response) => decodeBody("updateKey", OneKey)(response.body)),
        )
        return creditsOf(data)
      }, (effect) => Effect.mapError(effect, toToolError(tool, "setKeyLimit")))

      const accountCredits = rest("credits", { method: "GET", path: "/credits" }).pipe(
        Effect.retry(transientRetry(options.retryBase)),
        Effect.flatMap((response) => decodeBody("credits", Credits)(response.body)),
        Effect.map(({ data }): AccountCredits => ({ totalCredits: data.total_credits, totalUsage: data.total_usage })),
        Effect.mapError(toToolError(tool, "accountCredits")),
        Effect.withSpan("OpenRouter.accountCredits"),
      )

      return OpenRouter.of({
        tool: { tool, envKeys: ["OPENROUTER_API_KEY"], create, release, find },
        keyCredits,
        setKeyLimit,
        accountCredits,
      })
    })

  static readonly config = Config.all({
    managementKey: Config.Redacted("OPENROUTER_MANAGEMENT_KEY"),
    apiUrl: Config.String("OPENROUTER_API_URL").pipe(Config.withDefault("https://openrouter.ai/api/v1")),
    keyLimit: Config.Number("OPENROUTER_KEY_LIMIT").pipe(Config.withDefault(20)),
    limitReset: Config.Literals(["daily", "weekly", "monthly"], "OPENROUTER_KEY_LIMIT_RESET").pipe(
      Config.withDefault("monthly" as const),
    ),
    namePrefix: Config.String("OPENROUTER_KEY_PREFIX").pipe(Config.withDefault("convos-agent-")),
  }).pipe(Config.map((values): OpenRouterOptions => ({
    ...values,
    requestTimeout: Duration.seconds(15),
    retryBase: Duration.seconds(1),
  })))

  static readonly layerWith = (options: OpenRouterOptions) =>
    Layer.effect(OpenRouter, OpenRouter.make(options)).pipe(Layer.provide(FetchHttpClient.layer))

  /** From `OPENROUTER_*` configuration; fails to build without `OPENROUTER_MANAGEMENT_KEY`. */
  static readonly layer = Layer.unwrap(Effect.gen(function*() {
    return OpenRouter.layerWith(yield* OpenRouter.config)
  }))
}
