import { Duration, Effect, Redacted, Schema, Semaphore } from "effect"
import { HttpClient, HttpClientRequest } from "effect/http"
import { backoff } from "../../resources/providerRest.ts"

/**
 * Railway's public GraphQL API (`POST /graphql/v2`, `Authorization: Bearer <token>`): the operations the provider
 * uses, and one `request` function that turns every way a call can fail into a `RailwayCallError` saying whether
 * trying again can help. Bodies are never logged: variables carry instance secrets.
 */

export class RailwayCallError extends Schema.TaggedError<RailwayCallError>()("RailwayCallError", {
  operation: Schema.String,
  message: Schema.String,
  /** HTTP status, when there was a response. */
  status: Schema.optional(Schema.Number),
  /** 429, 5xx and timeouts: the same call may succeed later. */
  retryable: Schema.Boolean,
  /** The server's `Retry-After`, in milliseconds. */
  retryAfterMillis: Schema.optional(Schema.Number),
  /**
   * The answer said "not found". Railway mostly answers an id the token cannot reach, deleted ones included, with
   * "Not Authorized" instead, so nothing decides on this alone: deletes are checked by listing again.
   */
  notFound: Schema.Boolean,
}) {}

export const documents = {
  projectCreate: `mutation ProjectCreate($input: ProjectCreateInput!) {
  projectCreate(input: $input) { id name environments { edges { node { id name } } } }
}`,
  serviceCreate: `mutation ServiceCreate($input: ServiceCreateInput!) {
  serviceCreate(input: $input) { id }
}`,
  volumeCreate: `mutation VolumeCreate($input: VolumeCreateInput!) {
  volumeCreate(input: $input) { id }
}`,
  serviceDomainCreate: `mutation ServiceDomainCreate($input: ServiceDomainCreateInput!) {
  serviceDomainCreate(input: $input) { id domain }
}`,
  environmentPatchCommit: `mutation EnvironmentPatchCommit($environmentId: String!, $patch: EnvironmentConfig!, $commitMessage: String) {
  environmentPatchCommit(environmentId: $environmentId, patch: $patch, commitMessage: $commitMessage)
}`,
  projectDelete: `mutation ProjectDelete($id: String!) {
  projectDelete(id: $id)
}`,
  /**
   * One page of the workspace's projects with each service instance's latest deployment: status for a whole pool.
   * Through `environment → serviceInstances → latestDeployment`: `Service.deployments` is deprecated and its order
   * undocumented.
   */
  projects: `query Projects($workspaceId: String!, $first: Int!, $after: String) {
  projects(workspaceId: $workspaceId, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { id name environments { edges { node { id name serviceInstances { edges { node { serviceId latestDeployment { id status } } } } } } } } }
  }
}`,
} as const

export type OperationName = keyof typeof documents

export interface GraphqlOptions {
  readonly apiUrl: string
  readonly token: Redacted.Redacted<string>
  readonly requestTimeout: Duration.Input
  /** Calls in flight at once, across every create, destroy and status of this pool (Railway limits per token). */
  readonly maxConcurrentCalls: number
}

const maxRetryAfter = Duration.seconds(30)

const parseRetryAfter = (header: string | undefined): number | undefined => {
  if (header === undefined) return undefined
  const seconds = Number(header)
  return Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds * 1000, Duration.toMillis(maxRetryAfter)) : undefined
}

interface GraphqlBody {
  readonly data?: unknown
  readonly errors?: ReadonlyArray<{ readonly message?: unknown }>
}

const isNotFoundMessage = (message: string) => /not found|does not exist/i.test(message)
const isRateLimitMessage = (message: string) => /rate limit/i.test(message)

/** A short, secret-free description of a response body for error messages. */
const excerpt = (text: string) => (text.length > 200 ? `${text.slice(0, 200)}…` : text)

export const makeRequest = (client: HttpClient.HttpClient, options: GraphqlOptions) => {
  const inFlight = Semaphore.makeUnsafe(options.maxConcurrentCalls)
  return (operation: OperationName, variables: Record<string, unknown>): Effect.Effect<unknown, RailwayCallError> =>
    Effect.gen(function*() {
      const fail = (fields: Omit<ConstructorParameters<typeof RailwayCallError>[0], "operation">) =>
        Effect.fail(new RailwayCallError({ operation, ...fields }))
      const request = HttpClientRequest.post(options.apiUrl).pipe(
        HttpClientRequest.bearerToken(Redacted.value(options.token)),
        HttpClientRequest.bodyJsonUnsafe({ query: documents[operation], variables, operationName: operationNameOf(operation) }),
      )
      const response = yield* client.execute(request).pipe(
        Effect.flatMap((response) => Effect.map(response.text, (text) => ({ status: response.status, headers: response.headers, text }))),
        Effect.timeout(options.requestTimeout),
        Effect.catch((error) =>
          fail({
            message: error._tag === "TimeoutError" ? `no answer within ${Duration.format(Duration.fromInputUnsafe(options.requestTimeout))}` : `request failed: ${error.message}`,
            retryable: true,
            notFound: false,
          })
        ),
      )
      const retryAfterMillis = parseRetryAfter(response.headers["retry-after"])
      let body: GraphqlBody | undefined
      try {
        body = JSON.parse(response.text) as GraphqlBody
      } catch {
        body = undefined
      }
      const errorMessages = (body?.errors ?? []).map((error) => String(error.message ?? "unknown error"))
      if (response.status === 429 || response.status >= 500) {
        return yield* fail({
          message: `HTTP ${response.status}: ${excerpt(errorMessages.join("; ") || response.text)}`,
          status: response.status,
          retryable: true,
          notFound: false,
          ...(retryAfterMillis === undefined ? {} : { retryAfterMillis }),
        })
      }
      if (response.status >= 400 || body === undefined) {
        return yield* fail({
          message: `HTTP ${response.status}: ${excerpt(errorMessages.join("; ") || response.text)}`,
          status: response.status,
          retryable: false,
          notFound: response.status === 404,
        })
      }
      if (errorMessages.length > 0) {
        const message = excerpt(errorMessages.join("; "))
        return yield* fail({
          message,
          status: response.status,
          retryable: errorMessages.some(isRateLimitMessage),
          notFound: errorMessages.every(isNotFoundMessage),
        })
      }
      return body.data
    }).pipe(Semaphore.withPermits(inFlight, 1))
}

const operationNameOf = (operation: OperationName) => operation.charAt(0).toUpperCase() + operation.slice(1)

/**
 * Retry policies, named beside their use. `base` is the first delay (tests shorten it); a server's `Retry-After`
 * replaces the computed delay when it is longer.
 */
const honouringRetryAfter = (base: Duration.Input, times: number, retryWhen: (error: RailwayCallError) => boolean) =>
  backoff<RailwayCallError>(base, times, retryWhen)

/** Calls that are safe to repeat (reads, deletes): retry 429, 5xx and timeouts. */
export const transientRetry = (base: Duration.Input) => honouringRetryAfter(base, 4, (error) => error.retryable)

/** Deleting a project must get through: more patience than other calls. */
export const deleteRetry = (base: Duration.Input) => honouringRetryAfter(base, 6, (error) => error.retryable)

/**
 * Create mutations and the environment patch (each commit is a deploy) are not idempotent: a 5xx or a timeout may have
 * done the work, so only an explicit rate limit (refused before any work) is retried. Anything else fails and the
 * caller rolls back what it can find.
 */
export const rateLimitRetry = (base: Duration.Input) =>
  honouringRetryAfter(base, 5, (error) => error.status === 429 || (error.retryable && error.status !== undefined && error.status < 500))
