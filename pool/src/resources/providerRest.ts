import { Duration, Effect, Redacted, Schedule, Schema } from "effect"
import { HttpClient, HttpClientRequest } from "effect/http"
import { ToolError } from "./ToolProvider.ts"
import { cappedText, providerBodyMaxBytes } from "../boundedBody.ts"

/**
 * The JSON-over-HTTPS calls shared by the tool providers (OpenRouter, AgentMail, Telnyx): bearer auth with the
 * provider's master key, a timeout, answers read up to a size cap, and every failure turned into a `RestCallError` saying whether the same call may
 * succeed later. Request bodies are never logged or echoed (they carry keys and message text).
 */

export class RestCallError extends Schema.TaggedError<RestCallError>()("RestCallError", {
  operation: Schema.String,
  message: Schema.String,
  status: Schema.optional(Schema.Number),
  /** 429, 5xx and timeouts. */
  retryable: Schema.Boolean,
  retryAfterMillis: Schema.optional(Schema.Number),
}) {}

export interface RestOptions {
  readonly baseUrl: string
  readonly key: Redacted.Redacted<string>
  readonly requestTimeout: Duration.Input
}

export interface RestResponse {
  readonly status: number
  readonly body: unknown
}

export interface RestRequest {
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE"
  readonly path: string
  readonly query?: Readonly<Record<string, string | ReadonlyArray<string>>>
  readonly body?: unknown
  /** Statuses the caller handles itself (e.g. 404 on delete) instead of failing. */
  readonly accept?: ReadonlyArray<number>
  /** Extra request headers (e.g. AgentMail's `Idempotency-Key`). */
  readonly headers?: Readonly<Record<string, string>>
}

const maxRetryAfterMillis = 30_000

const secondsHeader = (header: string | undefined): number | undefined => {
  if (header === undefined) return undefined
  const seconds = Number(header)
  return Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds * 1000, maxRetryAfterMillis) : undefined
}

/**
 * How long a 429 asks us to wait: `Retry-After`, else `x-ratelimit-reset` (Telnyx sends no `Retry-After`; its
 * `x-ratelimit-reset` is documented as the seconds until the window resets).
 */
export const retryAfterOf = (headers: Readonly<Record<string, string | undefined>>, status: number): number | undefined =>
  secondsHeader(headers["retry-after"]) ?? (status === 429 ? secondsHeader(headers["x-ratelimit-reset"]) : undefined)

/** Provider error bodies differ (`{error: {message}}`, `{message}`, `{errors: [{detail}]}`): a short readable line. */
export const describeErrorBody = (body: unknown): string => {
  if (typeof body !== "object" || body === null) return ""
  const record = body as Record<string, unknown>
  const error = record["error"]
  if (typeof error === "string") return error
  if (typeof error === "object" && error !== null && typeof (error as Record<string, unknown>)["message"] === "string") {
    return (error as Record<string, string>)["message"]!
  }
  if (typeof record["message"] === "string") return record["message"]
  const errors = record["errors"]
  if (Array.isArray(errors)) {
    return errors
      .map((entry) => (typeof entry === "object" && entry !== null ? String(entry.detail ?? entry.title ?? entry.message ?? "") : ""))
      .filter((text) => text.length > 0)
      .join("; ")
  }
  return ""
}

const clip = (text: string) => (text.length > 200 ? `${text.slice(0, 200)}…` : text)

export const isRetryableStatus = (status: number) => status === 429 || status >= 500

export const makeRest = (client: HttpClient.HttpClient, options: RestOptions) =>
  (operation: string, request: RestRequest): Effect.Effect<RestResponse, RestCallError> =>
    Effect.gen(function*() {
      const url = new URL(options.baseUrl.replace(/\/$/, "") + request.path)
      for (const [name, value] of Object.entries(request.query ?? {})) {
        for (const item of typeof value === "string" ? [value] : value) url.searchParams.append(name, item)
      }
      let built = HttpClientRequest.make(request.method)(url).pipe(
        HttpClientRequest.bearerToken(Redacted.value(options.key)),
        HttpClientRequest.acceptJson,
        HttpClientRequest.setHeaders(request.headers ?? {}),
      )
      if (request.body !== undefined) built = HttpClientRequest.bodyJsonUnsafe(built, request.body)
      const response = yield* client.execute(built).pipe(
        Effect.flatMap((response) =>
          Effect.map(cappedText(response.stream, providerBodyMaxBytes), (text) => ({
            status: response.status,
            headers: response.headers,
            text,
          }))
        ),
        Effect.timeout(options.requestTimeout),
        Effect.catch((error) =>
          Effect.fail(
            new RestCallError({
              operation,
              message: error._tag === "TimeoutError"
                ? `no answer within ${Duration.format(Duration.fromInputUnsafe(options.requestTimeout))}`
                : `request failed: ${error.message}`,
              retryable: true,
            }),
          )
        ),
      )
      let body: unknown = undefined
      if (response.text.length > 0) {
        try {
          body = JSON.parse(response.text)
        } catch {
          body = undefined
        }
      }
      if (response.status < 300 || request.accept?.includes(response.status)) {
        return { status: response.status, body }
      }
      const retryAfterMillis = retryAfterOf(response.headers, response.status)
      return yield* new RestCallError({
        operation,
        message: `HTTP ${response.status}${body === undefined ? "" : `: ${clip(describeErrorBody(body))}`}`,
        status: response.status,
        retryable: isRetryableStatus(response.status),
        ...(retryAfterMillis === undefined ? {} : { retryAfterMillis }),
      })
    })

/**
 * Exponential back-off for provider calls, at most `times` retries of the errors `retryWhen` accepts; a server's
 * `Retry-After` replaces the computed delay when it is longer. Shared by the REST providers and Railway's GraphQL.
 */
export const backoff = <E extends { readonly retryAfterMillis?: number | undefined }>(
  base: Duration.Input,
  times: number,
  retryWhen: (error: E) => boolean,
) =>
  Schedule.exponential(base).pipe(
    Schedule.setInputType<E>(),
    Schedule.while(({ input }) => retryWhen(input)),
    Schedule.modifyDelay(({ duration, input }) =>
      Effect.succeed(
        input.retryAfterMillis !== undefined && input.retryAfterMillis > Duration.toMillis(duration)
          ? Duration.millis(input.retryAfterMillis)
          : duration,
      )
    ),
    Schedule.upTo({ times }),
  )

/** Safe to repeat (reads, deletes, creates made idempotent by a client id): 429, 5xx and timeouts, four retries. */
export const transientRetry = (base: Duration.Input) => backoff<RestCallError>(base, 4, (error) => error.retryable)

/**
 * Not safe to repeat (an order, a message): a 5xx or a timeout may have done the work, so only a 429 (refused before
 * any work) is retried.
 */
export const rateLimitRetry = (base: Duration.Input) => backoff<RestCallError>(base, 4, (error) => error.status === 429)

export const toToolError = (tool: string, operation: string) => (error: RestCallError) =>
  new ToolError({ tool, operation, message: `${error.operation}: ${error.message}`, retryable: error.retryable })

/** Decodes a provider's answer, failing with a clear, non-retryable error when it answered something else. */
export const decodeBody = <S extends Schema.Top>(operation: string, schema: S) => (body: unknown) =>
  Schema.decodeUnknownEffect(schema)(body).pipe(
    Effect.mapError((issue) =>
      new RestCallError({ operation, message: `unexpected answer: ${clip(String(issue))}`, retryable: false })
    ),
  ) as Effect.Effect<S["Type"], RestCallError>
