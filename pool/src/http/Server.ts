import { NodeHttpServer } from "@effect/platform-node"
import { Config, Effect, Layer } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { createServer } from "node:http"
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

/** The API on a Node HTTP server; `port` 0 picks a free one (tests read it from `HttpServer.address`). */
export const HttpServerLayer = (options: { readonly port: number; readonly host?: string; readonly logRequests?: boolean }) =>
  HttpRouter.serve(
    Layer.mergeAll(ApiRoutes, WebRoutes, WebhookRoutes.pipe(Layer.provide(InboundWebhooks.layer)), NotFound),
    { disableLogger: options.logRequests !== true },
  ).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: options.port, host: options.host ?? "127.0.0.1" })),
  )

/** Reads `PORT` (default 3001) and `HOST` (default 127.0.0.1). */
export const HttpServerFromConfig = Layer.unwrap(
  Effect.gen(function*() {
    const port = yield* Config.Port("PORT").pipe(Config.withDefault(3001))
    const host = yield* Config.String("HOST").pipe(Config.withDefault("127.0.0.1"))
    const logRequests = yield* Config.Boolean("LOG_HTTP_REQUESTS").pipe(Config.withDefault(false))
    return HttpServerLayer({ port, host, logRequests })
  }),
)
