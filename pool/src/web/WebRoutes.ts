/**
 * The public web page on the pool's own HTTP server: the catalog (`/`), template pages (`/a/:slug`), their QR codes
 * and share images, live availability, and the public launch route. Pages and images are rendered once per catalog
 * version and served from memory with ETags; the launch route claims with the template's own name and instructions
 * only, behind same-origin checks and per-client and global rate limits. The admin key never reaches a browser.
 */
import { type Cause, Config, Duration, Effect, Layer, Option, Queue, Schema, Stream } from "effect"
import { HttpRouter, type HttpServerRequest, HttpServerResponse } from "effect/http"
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { type ClaimStep, validateClaim } from "../domain/Claim.ts"
import type { Template } from "../domain/templates.ts"
import { readJsonBody } from "../http/body.ts"
import { Pool } from "../Pool.ts"
import { PoolConfig } from "../PoolConfig.ts"
import { availability, LaunchLimiter, sameOriginProblem, waitText } from "./launchPolicy.ts"
import { catalogPage, notFoundPage, templatePage } from "./pages.ts"
import { ogPng, qrDataUrl, qrPng } from "./share.ts"
import { Templates } from "./Templates.ts"

/** Only scripts and styles from this site; no inline script; images may be `data:` (an invite's QR code). */
export const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ")

const securityHeaders = {
  "content-security-policy": contentSecurityPolicy,
  "x-content-type-options": "nosniff",
  "referrer-policy": "strict-origin-when-cross-origin",
  "x-frame-options": "DENY",
}

const etagOf = (body: string | Uint8Array) => `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`

interface Cached {
  readonly body: string | Uint8Array
  readonly etag: string
  readonly contentType: string
}

const cached = (body: string | Uint8Array, contentType: string): Cached => ({ body, etag: etagOf(body), contentType })

/** 304 when the browser has this version; otherwise the body, revalidated on each use (`no-cache`). */
const respond = (request: HttpServerRequest.HttpServerRequest, entry: Cached, cacheControl = "no-cache") => {
  const headers = { ...securityHeaders, etag: entry.etag, "cache-control": cacheControl }
  if (request.headers["if-none-match"] === entry.etag) return HttpServerResponse.empty({ status: 304, headers })
  return typeof entry.body === "string"
    ? HttpServerResponse.text(entry.body, { contentType: entry.contentType, headers })
    : HttpServerResponse.uint8Array(entry.body, { contentType: entry.contentType, headers })
}

const jsonError = (status: number, error: string, headers: Record<string, string> = {}) =>
  HttpServerResponse.jsonUnsafe({ error }, { status, headers: { ...securityHeaders, ...headers } })

const htmlPage = (status: number, body: string) =>
  HttpServerResponse.text(body, { status, contentType: "text/html; charset=utf-8", headers: securityHeaders })

/** A bounded memo: pages and images are keyed by catalog version and base URL, so old keys stop being asked for. */
class Memo<V> {
  private readonly entries = new Map<string, V>()
  constructor(private readonly max: number) {}
  get(key: string, make: () => V): V {
    const hit = this.entries.get(key)
    if (hit !== undefined) return hit
    if (this.entries.size >= this.max) this.entries.clear()
    const value = make()
    this.entries.set(key, value)
    return value
  }
  delete(key: string) {
    this.entries.delete(key)
  }
}

const asset = (name: string, contentType: string) =>
  cached(readFileSync(new URL(`./assets/${name}`, import.meta.url), "utf8"), contentType)

const HOST = /^[a-z0-9.-]+(?::\d{1,5})?$/i

export const LaunchBody = Schema.Struct({ joinUrl: Schema.optional(Schema.String) })

export interface WebSettings {
  /** Absolute base of links in share metadata (`https://agents.example.com`); else taken from the Host header. */
  readonly publicUrl: string | undefined
  readonly launchesPerClient: number
  readonly launchesPerHour: number
  readonly clientWindow: Duration.Duration
}

export const WebSettingsFromConfig = Effect.gen(function*() {
  const publicUrl = yield* Config.option(Config.URL("PUBLIC_URL"))
  return {
    publicUrl: Option.match(publicUrl, { onNone: () => undefined, onSome: (u) => u.origin + u.pathname.replace(/\/+$/, "") }),
    launchesPerClient: yield* Config.Int("WEB_LAUNCHES_PER_CLIENT").pipe(Config.withDefault(5)),
    launchesPerHour: yield* Config.Int("WEB_LAUNCHES_PER_HOUR").pipe(Config.withDefault(60)),
    clientWindow: Duration.minutes(10),
  } satisfies WebSettings
})

export const webRoutes = (settings: WebSettings) =>
  HttpRouter.addAll(Effect.gen(function*() {
    const templates = yield* Templates
    const pool = yield* Pool
    const config = yield* PoolConfig
    const style = asset("style.css", "text/css; charset=utf-8")
    const script = asset("app.js", "text/javascript; charset=utf-8")
    const icon = asset("icon.svg", "image/svg+xml")
    const pages = new Memo<Cached>(500)
    const images = new Memo<Promise<Cached>>(500)
    const perClient = new LaunchLimiter(settings.launchesPerClient, Duration.toMillis(settings.clientWindow))
    const global = new LaunchLimiter(settings.launchesPerHour, 3_600_000)
    const [availabilityNow] = yield* Effect.cachedInvalidateWithTTL(
      Effect.gen(function*() {
        const counts = yield* pool.counts
        return availability({ idle: counts.idle, starting: counts.starting, hosts: yield* pool.hosts })
      }),
      Duration.seconds(2),
    )

    const baseOf = (request: HttpServerRequest.HttpServerRequest) => {
      if (settings.publicUrl) return settings.publicUrl
      const host = request.headers["host"] ?? ""
      return `http://${HOST.test(host) ? host : "localhost"}`
    }
    const pageUrl = (base: string, slug: string) => `${base}/a/${slug}`
    const ownOrigins = (request: HttpServerRequest.HttpServerRequest) =>
      settings.publicUrl
        ? [new URL(settings.publicUrl).origin]
        : [`http://${request.headers["host"] ?? ""}`, `https://${request.headers["host"] ?? ""}`]

    const findTemplate = (slug: string | undefined) =>
      Effect.map(templates.published, (catalog) => ({ catalog, template: slug ? catalog.bySlug.get(slug) : undefined }))

    const image = (request: HttpServerRequest.HttpServerRequest, kind: "qr" | "og") =>
      Effect.gen(function*() {
        const { catalog, template } = yield* findTemplate((yield* HttpRouter.params).slug)
        if (!template) return htmlPage(404, notFoundPage().value)
        const base = baseOf(request)
        const url = pageUrl(base, template.slug)
        const key = `${kind}|${catalog.etag}|${base}|${template.slug}`
        const render = () =>
          (kind === "qr" ? qrPng(url) : ogPng(template, url)).then(
            (png) => cached(new Uint8Array(png), "image/png"),
            (error: unknown) => {
              images.delete(key) // a failed render is tried again by the next request, not remembered
              throw error
            },
          )
        const entry = yield* Effect.promise(() => images.get(key, render))
        return respond(request, entry, "public, max-age=300")
      })

    const launch = (request: HttpServerRequest.HttpServerRequest) =>
      Effect.gen(function*() {
        const { template } = yield* findTemplate((yield* HttpRouter.params).slug)
        if (!template) return jsonError(404, "This agent is not in the catalog.")
        const crossSite = sameOriginProblem(request.headers, ownOrigins(request))
        if (crossSite) return jsonError(403, crossSite)
        const body = yield* readJsonBody(request, LaunchBody)
        const joinUrl = body.joinUrl?.trim()
        if (joinUrl === "") return jsonError(400, "Paste your conversation's invite link first.")
        const checked = validateClaim(
          { agentName: template.name, instructions: template.instructions, joinUrl, claimedBy: "web", skills: template.skills },
          config.xmtpEnv,
        )
        if (!checked.ok) return jsonError(400, friendly(checked.error))
        const client = Option.getOrElse(request.remoteAddress, () => "unknown")
        const now = Date.now()
        const mine = perClient.take(client, now)
        if (!mine.ok) {
          return jsonError(429, `You have added several agents already. Please try again in ${waitText(mine.retryAfterMs)}.`, {
            "retry-after": String(Math.ceil(mine.retryAfterMs / 1000)),
          })
        }
        const all = global.take("all", now)
        if (!all.ok) {
          perClient.refund(client)
          return jsonError(429, `Lots of people are adding agents right now. Please try again in ${waitText(all.retryAfterMs)}.`, {
            "retry-after": String(Math.ceil(all.retryAfterMs / 1000)),
          })
        }
        return yield* claimStream(template, checked.request)
      }).pipe(Effect.catchTag("InvalidRequest", (e) => Effect.succeed(jsonError(400, e.error))))

    /** The claim's steps and outcome as server-sent events (read by app.js with fetch, as EventSource cannot POST). */
    const claimStream = (template: Template, claim: Parameters<typeof pool.claim>[0]) =>
      Effect.gen(function*() {
        const events = yield* Queue.unbounded<string, Cause.Done>()
        const send = (event: unknown) => Queue.offerUnsafe(events, `data: ${JSON.stringify(event)}\n\n`)
        yield* pool.claim(claim, (step: ClaimStep) => send({ type: "step", ...step })).pipe(
          Effect.matchEffect({
            onSuccess: (result) =>
              Effect.promise(async () => ({
                type: "complete",
                ok: true,
                agentName: template.name,
                status: result.status,
                joined: result.joined,
                inviteUrl: result.inviteUrl,
                // A new conversation's invite, for a phone to scan; a joined one's link is the visitor's own.
                inviteQr: claim.mode === "create" && result.inviteUrl ? await qrDataUrl(result.inviteUrl) : null,
              })),
            onFailure: (error) => Effect.succeed({ type: "complete", ok: false, error: error.error }),
          }),
          Effect.map(send),
          Effect.andThen(Queue.end(events)),
          Effect.forkDetach,
        )
        return HttpServerResponse.stream(Stream.fromQueue(events).pipe(Stream.encodeText), {
          contentType: "text/event-stream",
          headers: { ...securityHeaders, "cache-control": "no-store", "x-accel-buffering": "no" },
        })
      })

    return [
      HttpRouter.route("GET", "/", (request) =>
        Effect.gen(function*() {
          const catalog = yield* templates.published
          const url = new URL(request.url, "http://x")
          const query = (url.searchParams.get("q") ?? "").slice(0, 100)
          const category = url.searchParams.get("category") ?? undefined
          const filter = { query, category: category && catalog.categories.includes(category) ? category : undefined }
          // The unfiltered page is the common one: rendered once per catalog version. Filtered views (browsing
          // without JavaScript) are rendered per request.
          const entry = query === "" && filter.category === undefined
            ? pages.get(`catalog|${catalog.etag}`, () => cached(catalogPage(catalog, filter).value, "text/html; charset=utf-8"))
            : cached(catalogPage(catalog, filter).value, "text/html; charset=utf-8")
          return respond(request, entry)
        })),
      HttpRouter.route("GET", "/a/:slug", (request) =>
        Effect.gen(function*() {
          const { catalog, template } = yield* findTemplate((yield* HttpRouter.params).slug)
          if (!template) return htmlPage(404, notFoundPage().value)
          const base = baseOf(request)
          const entry = pages.get(`page|${catalog.etag}|${base}|${template.slug}`, () =>
            cached(
              templatePage(template, { pageUrl: pageUrl(base, template.slug), imageUrl: `${pageUrl(base, template.slug)}/og.png` }).value,
              "text/html; charset=utf-8",
            ))
          return respond(request, entry)
        })),
      HttpRouter.route("GET", "/a/:slug/qr.png", (request) => image(request, "qr")),
      HttpRouter.route("GET", "/a/:slug/og.png", (request) => image(request, "og")),
      HttpRouter.route("POST", "/a/:slug/launch", launch),
      HttpRouter.route("GET", "/availability.json", () =>
        Effect.map(availabilityNow, (a) =>
          HttpServerResponse.jsonUnsafe(a, { headers: { ...securityHeaders, "cache-control": "no-store" } }))),
      HttpRouter.route("GET", "/assets/style.css", (request) => Effect.succeed(respond(request, style))),
      HttpRouter.route("GET", "/assets/app.js", (request) => Effect.succeed(respond(request, script))),
      HttpRouter.route("GET", "/assets/icon.svg", (request) => Effect.succeed(respond(request, icon))),
      // Browsers ask for it whatever the page says.
      HttpRouter.route("GET", "/favicon.ico", (request) => Effect.succeed(respond(request, icon))),
    ]
  }))

/** The claim validator speaks to API clients ("joinUrl must be…"); a person pasting a link reads this instead. */
export const friendly = (error: string) =>
  error
    .replace(/^joinUrl is a (\w+) invite; this pool runs on the (\w+) network$/, "That link is for Convos $1, but these agents run on $2. Use a link from the same Convos app.")
    .replace(/^joinUrl must be a Convos invite URL$/, "That doesn't look like a Convos invite link. In Convos, open the conversation and copy its invite link.")
    .replace(/^joinUrl has no invite code$/, "That link has no invite code. Copy the conversation's full invite link.")
    .replace(/^joinUrl is too long$/, "That link is too long to be a Convos invite.")

/** The web routes with their settings from the environment (`PUBLIC_URL`, `WEB_LAUNCHES_*`). */
export const WebRoutes = Layer.unwrap(Effect.map(WebSettingsFromConfig, webRoutes))
