import { NodeHttpServer } from "@effect/platform-node"
import { Config, Effect, Layer } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { createServer } from "node:http"
import { HttpApiError } from "effect/http-api"
import { SqlError } from "effect/sql"
import { PoolConfig } from "../PoolConfig.ts"
import { describeSchemaError } from "./body.ts"
import { WebRoutes } from "../web/WebRoutes.ts"
import { ApiRoutes } from "./Handlers.ts"
import { InboundWebhooks, WebhookRoutes } from "./Webhooks.ts"

/** Anything the API does not define is a JSON 404, like every other error. */
const NotFound = HttpRouter.add(
  "*",
  "*",
  (request) =>
    Effect.succeed(
      HttpServerResponse.jsonUnsafe({ error: `No route for ${request.method} ${request.url.split("?")[0]}` }, { status: 404 }),
    ),
)

const statusText: Record<number, string> = {
  400: "Bad request",
  401: "Invalid or missing credentials",
  403: "Forbidden",
  404: "Not found",
  405: "Method not allowed",
  413: "Request body is too large",
  500: "Internal error",
}

const where: Record<HttpApiError.HttpApiSchemaError["kind"], string> = {
  Params: "path",
  Headers: "header",
  Query: "query",
  Body: "body",
  Payload: "body",
  ResponseHeaders: "response header",
}

const schemaErrorResponse = (error: HttpApiError.HttpApiSchemaError) =>
  HttpServerResponse.jsonUnsafe({
    error: describeSchemaError(error.cause)
      .replace(/^Invalid request body/, `Invalid ${where[error.kind]}`)
      .replace(/^(Missing|Unknown) field:/, `$1 ${where[error.kind]}:`)
      .replace(/^Invalid (?!header|query|path|body)/, `Invalid ${where[error.kind]} `),
  }, { status: 400 })

/**
 * One error shape everywhere: every answer of 400 and above is a JSON `{error}`. The HTTP API answers a request it
 * cannot decode (a missing header, a repeated query key) with an empty 400; this says what was wrong instead, in
 * the words `readJsonBody` uses, and never with a schema's internals.
 */
const JsonErrors = HttpRouter.middleware(
  (httpEffect) =>
    httpEffect.pipe(
      // The HTTP API raises its decoding failures as defects, answered by an empty 400 further out.
      Effect.catchDefect((defect) =>
        HttpApiError.HttpApiSchemaError.is(defect)
          ? Effect.succeed(schemaErrorResponse(defect))
          // A dropped or refused database session: nothing was handed out that the reconciler does not recover, and
          // the same request will likely succeed in a moment.
          : SqlError.isSqlError(defect)
          ? Effect.logError("database call failed", defect).pipe(
            Effect.as(HttpServerResponse.jsonUnsafe({ error: "The pool's database is unavailable. Try again in a moment." }, {
              status: 503,
              headers: { "retry-after": "1" },
            })),
          )
          : Effect.die(defect)
      ),
      Effect.map((response) =>
        response.status >= 400 && response.body._tag === "Empty"
          ? HttpServerResponse.jsonUnsafe({ error: statusText[response.status] ?? `HTTP ${response.status}` }, {
            status: response.status,
            headers: response.headers,
          })
          : response
      ),
    ),
  { global: true },
)

/** The API on a Node HTTP server; `port` 0 picks a free one (tests read it from `HttpServer.address`). */
export const HttpServerLayer = (options: { readonly port: number; readonly host?: string; readonly logRequests?: boolean }) =>
  HttpRouter.serve(
    Layer.mergeAll(ApiRoutes, WebRoutes, WebhookRoutes.pipe(Layer.provide(InboundWebhooks.layer)), NotFound, JsonErrors),
    { disableLogger: options.logRequests !== true },
  ).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: options.port, host: options.host ?? "127.0.0.1" })),
  )

/** Listens on the pool's `PORT` (PoolConfig) and reads `HOST` (default 127.0.0.1). */
export const HttpServerFromConfig = Layer.unwrap(
  Effect.gen(function*() {
    const { port } = yield* PoolConfig
    const host = yield* Config.String("HOST").pipe(Config.withDefault("127.0.0.1"))
    const logRequests = yield* Config.Boolean("LOG_HTTP_REQUESTS").pipe(Config.withDefault(false))
    return HttpServerLayer({ port, host, logRequests })
  }),
)
