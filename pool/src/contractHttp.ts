import { Duration, Effect, Redacted, Schema } from "effect"
import { ErrorBody } from "../../contract/index.ts"
import { BodyTooLarge, contractBodyMaxBytes, readCappedText } from "./boundedBody.ts"

/** A call to a host that failed: the host answered with an error status, or did not answer (refused, timed out). */
export class InstanceCallError extends Schema.TaggedError<InstanceCallError>()("InstanceCallError", {
  operation: Schema.String,
  /** HTTP status when the host answered, else absent. */
  status: Schema.optional(Schema.Number),
  message: Schema.String,
}) {}

const decodeError = Schema.decodeUnknownOption(Schema.fromJsonString(ErrorBody))

/**
 * One JSON call of the host/slot contract (contract/index.ts): bearer token, timeout (headers and body), the answer
 * read up to a size cap and decoded with the contract's schema. Both the slot client and the host client go through it.
 */
export const contractCall = <S extends Schema.Top>(options: {
  readonly operation: string
  readonly method: "GET" | "POST" | "PUT" | "DELETE"
  readonly url: string
  readonly token: Redacted.Redacted<string>
  readonly answer: S
  readonly timeout: Duration.Duration
  readonly body?: unknown
}): Effect.Effect<S["Type"], InstanceCallError, S["DecodingServices"]> => {
  const { operation, timeout, body } = options
  return Effect.tryPromise({
    try: async (signal) => {
      const response = await fetch(options.url, {
        method: options.method,
        headers: {
          authorization: `Bearer ${Redacted.value(options.token)}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.any([signal, AbortSignal.timeout(Duration.toMillis(timeout))]),
      })
      return { status: response.status, text: await readCappedText(response, contractBodyMaxBytes) }
    },
    catch: (cause) =>
      new InstanceCallError({
        operation,
        message: cause instanceof BodyTooLarge
          ? cause.message
          : cause instanceof Error && cause.name === "TimeoutError"
          ? `timed out after ${Duration.format(timeout)}`
          : `unreachable: ${cause instanceof Error ? cause.message : String(cause)}`,
      }),
  }).pipe(
    Effect.flatMap(({ status, text }) => {
      if (status < 200 || status > 299) {
        const error = decodeError(text)
        const message = error._tag === "Some" ? error.value.error.slice(0, 300) : `HTTP ${status}`
        return Effect.fail(new InstanceCallError({ operation, status, message }))
      }
      return Schema.decodeUnknownEffect(Schema.fromJsonString(options.answer))(text).pipe(
        Effect.mapError(() => new InstanceCallError({ operation, status, message: "the host answered with an unexpected body" })),
      )
    }),
  )
}
