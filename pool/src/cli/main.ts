/**
 * Operator CLI over the pool's HTTP API, as a typed client (`HttpApiClient`) of the same `PoolApi` definition the
 * server implements, so a route or schema change is checked here at compile time:
 *   npm run pool -- status | replenish N | drain N | drain-host HOST_ID | kill ID | reconcile
 *   npm run pool -- configure ID [--name NAME] [--instructions TEXT]
 *   npm run pool -- claim --name "Trip Planner" --instructions "…" [--join-url URL]
 * POOL_URL (default http://127.0.0.1:$PORT or :3001) and POOL_API_KEY (default: DATA_DIR/pool-api-key).
 */
import { NodeRuntime } from "@effect/platform-node"
import { Config, Context, Effect, Layer, Option, Stream } from "effect"
import { FetchHttpClient, HttpClient, HttpClientRequest } from "effect/http"
import { HttpApiClient, HttpApiMiddleware } from "effect/http-api"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { DataDir } from "../DataDir.ts"
import { ApiKeyAuth, PoolApi } from "../http/Api.ts"
import { portConfig } from "../PoolConfig.ts"
import { hostsReport, statusReport } from "./format.ts"

const usage = `usage: npm run pool -- <command>
  status                          hosts (capacity, used/idle/starting, health, compute), counts, every instance
  replenish [N]                   create N instances (default: up to the idle target)
  drain [N]                       destroy up to N idle/starting/dead instances (default 1)
  drain-host HOST_ID              no new agents on that host; its idle ones go; destroyed once empty
  kill ID                         destroy one instance, whatever its status
  configure ID [--name NAME] [--instructions TEXT]
                                  rename and/or re-instruct a claimed agent
  reconcile                       run one reconcile tick now
  claim --name NAME --instructions TEXT [--join-url URL]
                                  claim an agent, with live progress`

/** Where the pool is and its key, read once. */
class CliSettings extends Context.Service<CliSettings, { readonly baseUrl: string; readonly apiKey: string }>()("pool/cli/CliSettings") {
  static readonly layer = Layer.effect(
    CliSettings,
    Effect.gen(function*() {
      const url = yield* Config.option(Config.String("POOL_URL"))
      const port = yield* portConfig
      const key = yield* Config.option(Config.String("POOL_API_KEY"))
      const dataDir = yield* DataDir
      const keyFile = join(dataDir, "pool-api-key")
      return CliSettings.of({
        baseUrl: Option.getOrElse(url, () => `http://127.0.0.1:${port}`),
        apiKey: Option.getOrElse(Option.filter(key, (k) => k !== ""), () => existsSync(keyFile) ? readFileSync(keyFile, "utf8").trim() : ""),
      })
    }),
  ).pipe(Layer.provide(DataDir.layer))
}

/** The status of the last response, for an error line that says it (the decoded errors carry only the message). */
let lastStatus = 0

class PoolApiClient extends Context.Service<PoolApiClient, HttpApiClient.ForApi<typeof PoolApi>>()("pool/cli/PoolApiClient") {
  static readonly layer = Layer.effect(
    PoolApiClient,
    Effect.gen(function*() {
      const { baseUrl } = yield* CliSettings
      return yield* HttpApiClient.make(PoolApi, {
        baseUrl,
        transformClient: HttpClient.tap((response) => Effect.sync(() => (lastStatus = response.status))),
      })
    }),
  ).pipe(
    Layer.provide(HttpApiMiddleware.layerClient(ApiKeyAuth, ({ next, request }) =>
      Effect.gen(function*() {
        const { apiKey } = yield* CliSettings
        return yield* next(HttpClientRequest.bearerToken(request, apiKey))
      }))),
    Layer.provide(FetchHttpClient.layer),
  )
}

class CliFailure extends Error {}
const fail = (message: string) => Effect.fail(new CliFailure(message))

const count = (value: string | undefined, fallback?: number) => {
  if (value === undefined) return Effect.succeed(fallback)
  const n = Number(value)
  return Number.isInteger(n) && n >= 0 ? Effect.succeed(n) : fail(`not a count: ${value}`)
}

const countsLine = (counts: Readonly<Record<string, number>>) =>
  Object.entries(counts).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s}`).join(", ") || "no instances"

const print = (line: string) => Effect.sync(() => console.log(line))

/** The claim's server-sent events, one progress line each, then the result. */
const followClaim = (body: Stream.Stream<Uint8Array, unknown>) =>
  Effect.gen(function*() {
    const decoder = new TextDecoder()
    let buffer = ""
    yield* Stream.runForEach(body, (chunk) =>
      Effect.gen(function*() {
        buffer += decoder.decode(chunk, { stream: true })
        let end: number
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const event = JSON.parse(buffer.slice(0, end).replace(/^data: /, "")) as Record<string, unknown>
          buffer = buffer.slice(end + 2)
          if (event.type === "step") {
            yield* print(`  ${event.status === "fail" ? "✗" : event.status === "active" || event.status === "waiting" ? "…" : "✓"} ${event.message}`)
          } else if (event.ok) {
            yield* print(`${event.agentName} (${event.instanceId}) is ${event.status === "pending_acceptance" ? "waiting to be accepted" : "ready"}`)
            if (event.inviteUrl) yield* print(`invite: ${event.inviteUrl}`)
          } else yield* fail(`claim failed: ${event.error}`)
        }
      }))
  })

const run = (argv: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const { positionals, values } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { name: { type: "string" }, instructions: { type: "string" }, "join-url": { type: "string" } },
    })
    const [command, argument] = positionals
    const client = yield* PoolApiClient
    switch (command) {
      case "status": {
        const status = yield* client.admin.status()
        yield* print(hostsReport(status.hosts))
        yield* print("")
        yield* print(statusReport(status.counts, status.instances))
        return
      }
      case "replenish": {
        const n = yield* count(argument)
        const result = yield* client.admin.replenish({ payload: n === undefined ? {} : { count: n } })
        const created = result.created
        yield* print(`creating ${created.length} instance(s)${created.length ? `: ${created.join(", ")}` : ""}`)
        // Warm-up takes a while: follow it until nothing is starting.
        let counts: Readonly<Record<string, number>> = result.counts
        while (created.length > 0 && (counts.starting ?? 0) > 0) {
          process.stdout.write(`\r${countsLine(counts)}   `)
          yield* Effect.sleep("1 second")
          counts = yield* client.public.counts()
        }
        yield* print(`\r${countsLine(counts)}   `)
        return
      }
      case "drain": {
        const result = yield* client.admin.drain({ payload: { count: (yield* count(argument, 1))! } })
        const drained = result.drained
        yield* print(`drained ${drained.length}${drained.length ? `: ${drained.join(", ")}` : ""}; now ${countsLine(result.counts)}`)
        return
      }
      case "drain-host": {
        if (!argument) return yield* fail("usage: npm run pool -- drain-host HOST_ID")
        const result = yield* client.admin.drainHost({ params: { id: argument } })
        yield* print(`host ${argument} is draining; removed ${result.drained.length} idle agent(s); now ${countsLine(result.counts)}`)
        return
      }
      case "kill": {
        if (!argument) return yield* fail("usage: npm run pool -- kill ID")
        yield* client.admin.kill({ params: { id: argument } })
        yield* print(`destroyed ${argument}`)
        return
      }
      case "configure": {
        if (!argument || (values.name === undefined && values.instructions === undefined)) {
          return yield* fail("usage: npm run pool -- configure ID [--name NAME] [--instructions TEXT]")
        }
        const result = yield* client.admin.configure({
          params: { id: argument },
          payload: {
            ...(values.name === undefined ? {} : { agentName: values.name }),
            ...(values.instructions === undefined ? {} : { instructions: values.instructions }),
          },
        })
        yield* print(`${argument} is now ${String(result.agentName)}${values.instructions === undefined ? "" : ", with new instructions"}`)
        return
      }
      case "reconcile": {
        const r = yield* client.admin.reconcile()
        yield* print(`checked ${r.checked}, ${r.transitions} transition(s), ${r.reaped} reaped, ${r.orphans} orphan(s), ${r.created} created`)
        return
      }
      case "claim": {
        if (!values.name || !values.instructions) return yield* fail("usage: npm run pool -- claim --name NAME --instructions TEXT [--join-url URL]")
        const query = {
          agentName: values.name,
          instructions: values.instructions,
          ...(values["join-url"] ? { joinUrl: values["join-url"] } : {}),
        }
        const response = yield* client.admin.claimStream({ query, responseMode: "response-only" })
        if (response.status >= 400) {
          const json = (yield* response.json.pipe(Effect.orElseSucceed(() => ({})))) as { error?: string }
          return yield* fail(`error ${response.status}: ${json.error ?? "request failed"}`)
        }
        return yield* followClaim(response.stream)
      }
      default:
        yield* print(usage)
        if (command !== undefined && command !== "help") process.exitCode = 2
    }
  })

/** One line an operator can act on, whatever failed: the pool unreachable, a refused request, a bad argument. */
const explain = (error: unknown, baseUrl: string): string => {
  if (error instanceof CliFailure) return error.message
  const tagged = error as { _tag?: string; error?: unknown; reason?: { _tag?: string } }
  if (typeof tagged.error === "string") return `error ${lastStatus}: ${tagged.error}`
  if (tagged._tag === "HttpClientError" && tagged.reason?._tag === "TransportError")
    return `cannot reach the pool at ${baseUrl} (is it running? set POOL_URL)`
  return `error ${lastStatus || ""}: ${error instanceof Error ? error.message : String(error)}`.replace("error : ", "error: ")
}

Effect.gen(function*() {
  const { baseUrl } = yield* CliSettings
  yield* run(process.argv.slice(2)).pipe(
    Effect.catch((error: unknown) => Effect.sync(() => {
      console.error(explain(error, baseUrl))
      process.exitCode = 1
    })),
  )
}).pipe(
  Effect.provide(PoolApiClient.layer.pipe(Layer.provideMerge(CliSettings.layer))),
  NodeRuntime.runMain({ disableErrorReporting: true }),
)
