import { Config, Context, Duration, Effect, Layer, Redacted, Schema } from "effect"
import type { ProvisionMode } from "./domain/Claim.ts"

/** The pool's side of docs/instance-contract.md: plain HTTP with the instance's own bearer token. */

export interface HealthReport {
  readonly ready: boolean
  readonly inboxId: string | null
  readonly version: string
  readonly conversationId: string | null
}

export interface ProvisionBody {
  readonly agentName: string
  readonly instructions: string
  readonly mode: ProvisionMode
  readonly joinUrl?: string | undefined
  readonly conversationId?: string | undefined
  readonly addedBy?: string | undefined
  readonly managerInboxId?: string | undefined
}

export interface ConfigureBody {
  readonly agentName?: string | undefined
  readonly instructions?: string | undefined
}

export interface ProvisionReply {
  readonly status: "created" | "joined" | "pending_acceptance" | "added"
  readonly conversationId: string | null
  readonly inviteUrl: string | null
}

export class InstanceCallError extends Schema.TaggedError<InstanceCallError>()("InstanceCallError", {
  operation: Schema.String,
  /** HTTP status when the instance answered, else absent (refused, timed out). */
  status: Schema.optional(Schema.Number),
  message: Schema.String,
}) {}

const HealthSchema = Schema.Struct({
  ready: Schema.Boolean,
  inboxId: Schema.NullOr(Schema.String),
  version: Schema.String,
  conversationId: Schema.optional(Schema.NullOr(Schema.String)),
})

const ProvisionSchema = Schema.Struct({
  status: Schema.Literals(["created", "joined", "pending_acceptance", "added"]),
  conversationId: Schema.optional(Schema.NullOr(Schema.String)),
  inviteUrl: Schema.optional(Schema.NullOr(Schema.String)),
})

const ResetSchema = Schema.Struct({ clean: Schema.Boolean })
const ConfigureSchema = Schema.Struct({ status: Schema.Literal("configured") })

export class InstanceClient extends Context.Service<InstanceClient, {
  health(url: string, token: Redacted.Redacted<string>): Effect.Effect<HealthReport, InstanceCallError>
  provision(url: string, token: Redacted.Redacted<string>, body: ProvisionBody): Effect.Effect<ProvisionReply, InstanceCallError>
  reset(url: string, token: Redacted.Redacted<string>): Effect.Effect<{ readonly clean: boolean }, InstanceCallError>
  configure(url: string, token: Redacted.Redacted<string>, body: ConfigureBody): Effect.Effect<void, InstanceCallError>
}>()("pool/InstanceClient") {
  static readonly layer = Layer.effect(
    InstanceClient,
    Effect.gen(function*() {
      const healthTimeout = yield* Config.Duration("POOL_HEALTH_TIMEOUT").pipe(Config.withDefault(Duration.seconds(3)))
      const provisionTimeout = yield* Config.Duration("POOL_PROVISION_TIMEOUT").pipe(
        Config.withDefault(Duration.seconds(60)),
      )

      const call = <S extends Schema.Top>(
        operation: string,
        method: "GET" | "POST",
        url: string,
        token: Redacted.Redacted<string>,
        schema: S,
        timeout: Duration.Duration,
        body?: unknown,
      ) =>
        Effect.tryPromise({
          try: async (signal) => {
            const response = await fetch(`${url}/pool/${operation}`, {
              method,
              headers: {
                authorization: `Bearer ${Redacted.value(token)}`,
                ...(body === undefined ? {} : { "content-type": "application/json" }),
              },
              ...(body === undefined ? {} : { body: JSON.stringify(body) }),
              signal: AbortSignal.any([signal, AbortSignal.timeout(Duration.toMillis(timeout))]),
            })
            const text = await response.text()
            return { status: response.status, text }
          },
          catch: (cause) =>
            new InstanceCallError({
              operation,
              message: cause instanceof Error && cause.name === "TimeoutError"
                ? `timed out after ${Duration.format(timeout)}`
                : `unreachable: ${cause instanceof Error ? cause.message : String(cause)}`,
            }),
        }).pipe(
          Effect.flatMap(({ status, text }) => {
            if (status < 200 || status > 299) {
              const message = parseError(text) ?? `HTTP ${status}`
              return Effect.fail(new InstanceCallError({ operation, status, message }))
            }
            return Schema.decodeUnknownEffect(Schema.fromJsonString(schema))(text).pipe(
              Effect.mapError(() =>
                new InstanceCallError({ operation, status, message: "the instance answered with an unexpected body" })
              ),
            )
          }),
        )

      const health = Effect.fn("InstanceClient.health")(function*(url: string, token: Redacted.Redacted<string>) {
        const report = yield* call("health", "GET", url, token, HealthSchema, healthTimeout)
        return { ...report, conversationId: report.conversationId ?? null }
      })
      const provision = Effect.fn("InstanceClient.provision")(
        function*(url: string, token: Redacted.Redacted<string>, body: ProvisionBody) {
          const reply = yield* call("provision", "POST", url, token, ProvisionSchema, provisionTimeout, body)
          return { status: reply.status, conversationId: reply.conversationId ?? null, inviteUrl: reply.inviteUrl ?? null }
        },
      )
      const reset = Effect.fn("InstanceClient.reset")(function*(url: string, token: Redacted.Redacted<string>) {
        return yield* call("reset", "POST", url, token, ResetSchema, healthTimeout, {})
      })
      const configure = Effect.fn("InstanceClient.configure")(
        function*(url: string, token: Redacted.Redacted<string>, body: ConfigureBody) {
          // A rename writes the agent's profile into its conversation: one XMTP send, so the provision timeout.
          yield* call("configure", "POST", url, token, ConfigureSchema, provisionTimeout, body)
        },
      )
      return InstanceClient.of({ health, provision, reset, configure })
    }),
  )
}

const parseError = (text: string): string | undefined => {
  try {
    const body: unknown = JSON.parse(text)
    if (typeof body === "object" && body !== null && "error" in body && typeof body.error === "string") {
      return body.error.slice(0, 300)
    }
  } catch {
    // not JSON: fall back to the status line
  }
  return undefined
}
