import { type Cause, Config, Effect, Layer, Option, Queue, Redacted, Schema, Stream } from "effect"
import { type HttpServerRequest, HttpServerResponse } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { DataDir } from "../DataDir.ts"
import { Instances, type InstanceRow } from "../db/Instances.ts"
import { type ClaimResult, type ClaimStep, validateClaim, validateReconfigure } from "../domain/Claim.ts"
import { type Forbidden, InvalidRequest, TemplateNotFound, Unauthorized } from "../domain/errors.ts"
import { type InstanceTools, ToolProxy, type ToolProxyError, toolProxyHttpStatus } from "../resources/ToolProxy.ts"
import { Pool } from "../Pool.ts"
import { PoolConfig } from "../PoolConfig.ts"
import { Reconciler } from "../Reconciler.ts"
import { Templates } from "../web/Templates.ts"
import {
  ApiCaller,
  ApiKeyAuth,
  ClaimBody,
  ConfigureBody,
  CountBody,
  InstanceTokenBody,
  JoinedBody,
  PoolApi,
  TemplateCreateBody,
  TemplatePatchBody,
} from "./Api.ts"
import { readJsonBody } from "./body.ts"

export const version = "0.1.0"

const digest = (s: string) => createHash("sha256").update(s).digest()
/** Compares digests so neither the key's content nor its length leaks through timing. */
const sameSecret = (a: string, b: string) => timingSafeEqual(digest(a), digest(b))

/**
 * Without POOL_API_KEY (the embedded default) a random key is generated once into `DATA_DIR/pool-api-key` (0600),
 * so the admin routes are never open; the operator CLI reads it from there.
 */
export const apiKeyFile = (dataDir: string) => join(dataDir, "pool-api-key")
const loadOrCreateApiKey = (dataDir: string) => {
  const file = apiKeyFile(dataDir)
  if (existsSync(file)) return readFileSync(file, "utf8").trim()
  mkdirSync(dataDir, { recursive: true })
  const key = randomBytes(24).toString("base64url")
  writeFileSync(file, key, { mode: 0o600 })
  return key
}

export const ApiKeyAuthLayer = Layer.effect(
  ApiKeyAuth,
  Effect.gen(function*() {
    const configured = yield* Config.option(Config.Redacted("POOL_API_KEY"))
    const dataDir = yield* DataDir
    const apiKey = Option.isSome(configured) ? configured.value : Redacted.make(loadOrCreateApiKey(dataDir))
    return ApiKeyAuth.of({
      bearer: (httpEffect, { credential }) =>
        sameSecret(Redacted.value(credential), Redacted.value(apiKey)) && Redacted.value(apiKey) !== ""
          ? Effect.provideService(httpEffect, ApiCaller, { label: "api-key" })
          : Effect.fail(new Unauthorized({ error: "Invalid or missing API key" })),
    })
  }),
)

const toClaimJson = (r: ClaimResult) => ({
  inviteUrl: r.inviteUrl,
  conversationId: r.conversationId,
  instanceId: r.instanceId,
  joined: r.joined,
  agentName: r.agentName,
  status: r.status,
})

const PublicHandlers = HttpApiBuilder.group(PoolApi, "public", Effect.fn(function*(handlers) {
  const pool = yield* Pool
  const config = yield* PoolConfig
  const catalog = yield* Templates
  return handlers
    .handle("healthz", () => Effect.succeed({ ok: true }))
    .handle("version", () => Effect.succeed({ version, environment: config.xmtpEnv }))
    .handle("counts", () => pool.counts)
    .handle("templates", () => Effect.map(catalog.published, (c) => c.templates))
    .handle("template", ({ params }) =>
      Effect.flatMap(catalog.published, (c) => {
        const template = c.bySlug.get(params.slug)
        return template ? Effect.succeed(template) : Effect.fail(TemplateNotFound.standard())
      }))
}))

const TemplatesAdminHandlers = HttpApiBuilder.group(PoolApi, "templatesAdmin", Effect.fn(function*(handlers) {
  const catalog = yield* Templates
  return handlers
    .handle("listAll", () => catalog.all)
    .handleRaw("create", ({ request }) =>
      Effect.gen(function*() {
        const body = yield* readJsonBody(request, TemplateCreateBody)
        return yield* catalog.create({
          ...body,
          skills: body.skills ?? [],
          featured: body.featured ?? false,
          published: body.published ?? true,
        })
      }))
    .handleRaw("update", ({ request, params }) =>
      Effect.flatMap(readJsonBody(request, TemplatePatchBody), (patch) => catalog.update(params.slug, patch)))
    .handle("unpublish", ({ params }) =>
      catalog.update(params.slug, { published: false }).pipe(Effect.catchTag("InvalidRequest", Effect.die)))
}))

const AdminHandlers = HttpApiBuilder.group(PoolApi, "admin", Effect.fn(function*(handlers) {
  const pool = yield* Pool
  const instances = yield* Instances
  const reconciler = yield* Reconciler
  const config = yield* PoolConfig

  const toInstanceJson = (row: InstanceRow) =>
    Effect.map(instances.resourcesOf(row.id), (resources) => ({
      id: row.id,
      status: row.status,
      hostId: row.host_id,
      computeKind: row.compute_kind,
      inboxId: row.inbox_id,
      agentName: row.agent_name,
      conversationId: row.conversation_id,
      inviteUrl: row.invite_url ?? row.join_url,
      statusReason: row.status_reason,
      claimedAt: row.claimed_at?.toISOString() ?? null,
      createdAt: row.created_at.toISOString(),
      lastHealthAt: row.last_health_at?.toISOString() ?? null,
      resources: resources.map((r) => ({ tool: r.tool, resourceId: r.resource_id, status: r.status })),
    }))

  const validated = (body: typeof ClaimBody.Type, idempotencyKey: string | undefined) => {
    const checked = validateClaim({ ...body, idempotencyKey, claimedBy: "api" }, config.xmtpEnv)
    return checked.ok ? Effect.succeed(checked.request) : Effect.fail(new InvalidRequest({ error: checked.error }))
  }

  return handlers
    .handleRaw("claim", ({ request, headers }) =>
      Effect.gen(function*() {
        const body = yield* readJsonBody(request, ClaimBody)
        const claim = yield* validated(body, headers["idempotency-key"])
        return toClaimJson(yield* pool.claim(claim))
      }))
    .handleRaw("claimStream", ({ query }) =>
      Effect.gen(function*() {
        const claim = yield* validated(query, undefined)
        const events = yield* Queue.unbounded<string, Cause.Done>()
        const send = (event: unknown) => Queue.offerUnsafe(events, `data: ${JSON.stringify(event)}\n\n`)
        const onStep = (step: ClaimStep) => send({ type: "step", ...step })
        yield* pool.claim(claim, onStep).pipe(
          Effect.match({
            onSuccess: (result) => send({ type: "complete", ok: true, ...toClaimJson(result) }),
            onFailure: (error) => send({ type: "complete", ok: false, error: error.error }),
          }),
          Effect.andThen(Queue.end(events)),
          Effect.forkDetach,
        )
        return HttpServerResponse.stream(Stream.fromQueue(events).pipe(Stream.encodeText), {
          contentType: "text/event-stream",
          headers: { "cache-control": "no-cache", "x-accel-buffering": "no" },
        })
      }))
    .handle("status", () =>
      Effect.gen(function*() {
        const rows = yield* pool.list
        const hosts = (yield* pool.hosts).map((h) => ({
          id: h.id,
          status: h.status,
          draining: h.draining,
          computeKind: h.compute_kind,
          capacity: h.capacity,
          slots: h.slots,
          used: h.used,
          idle: h.idle,
          starting: h.starting,
          version: h.version,
          lastHealthAt: h.last_health_at?.toISOString() ?? null,
          createdAt: h.created_at.toISOString(),
        }))
        return { counts: yield* pool.counts, hosts, instances: yield* Effect.forEach(rows, toInstanceJson) }
      }))
    .handle("drainHost", ({ params }) =>
      Effect.gen(function*() {
        const drained = yield* pool.drainHost(params.id)
        return { ok: true, drained, counts: yield* pool.counts }
      }))
    .handleRaw("replenish", ({ request }) =>
      Effect.gen(function*() {
        const body = yield* readJsonBody(request, CountBody, { allowEmpty: true })
        if (body.count !== undefined && (body.count < 0 || body.count > 50)) {
          return yield* new InvalidRequest({ error: "count must be between 0 and 50" })
        }
        const created = yield* pool.replenish(body.count === 0 ? undefined : body.count)
        return { ok: true, created, counts: yield* pool.counts }
      }))
    .handleRaw("drain", ({ request }) =>
      Effect.gen(function*() {
        const body = yield* readJsonBody(request, CountBody, { allowEmpty: true })
        const count = body.count ?? 1
        if (count < 1 || count > 50) return yield* new InvalidRequest({ error: "count must be between 1 and 50" })
        const drained = yield* pool.drain(count)
        return { ok: true, drained, counts: yield* pool.counts }
      }))
    .handle("reconcile", () => Effect.map(reconciler.tick, (report) => ({ ok: true, ...report })))
    .handle("kill", ({ params }) => Effect.as(pool.kill(params.id), { ok: true }))
    .handleRaw("configure", ({ request, params }) =>
      Effect.gen(function*() {
        const checked = validateReconfigure(yield* readJsonBody(request, ConfigureBody))
        if (!checked.ok) return yield* new InvalidRequest({ error: checked.error })
        const row = yield* pool.reconfigure(params.id, checked.request)
        return { instanceId: row.id, agentName: row.agent_name }
      }))
}))

const InstanceHandlers = HttpApiBuilder.group(PoolApi, "instance", Effect.fn(function*(handlers) {
  const pool = yield* Pool
  return handlers
    .handleRaw("selfDestruct", ({ request }) =>
      Effect.gen(function*() {
        const body = yield* readJsonBody(request, InstanceTokenBody)
        yield* pool.selfDestruct(body.instanceId, body.token)
        return { ok: true }
      }))
    .handleRaw("joined", ({ request }) =>
      Effect.gen(function*() {
        const body = yield* readJsonBody(request, JoinedBody)
        yield* pool.markJoined(body.instanceId, body.token, body.conversationId)
        return { ok: true }
      }))
}))

/**
 * The credential of `Authorization: Bearer <credential>`, by the rule the API key routes use (RFC 9110: the scheme is
 * case-insensitive, one or more spaces follow it).
 */
export const bearerCredential = (header: string | undefined): string | undefined =>
  /^bearer +(\S.*)$/i.exec(header ?? "")?.[1]

/** The instance behind a tool request: `Authorization: Bearer <INSTANCE_TOKEN>` and `X-Instance-Id`. */
const instanceOf = (request: HttpServerRequest.HttpServerRequest, instanceId: string) =>
  Effect.gen(function*() {
    const pool = yield* Pool
    const token = bearerCredential(request.headers["authorization"]) ?? ""
    return yield* pool.authenticateInstance(instanceId, token)
  })

const toolResponse = <A>(effect: Effect.Effect<A, ToolProxyError | Forbidden | InvalidRequest, Pool>) =>
  effect.pipe(
    Effect.map((value) => HttpServerResponse.jsonUnsafe(value)),
    Effect.catchTags({
      ToolProxyError: (e) => Effect.succeed(HttpServerResponse.jsonUnsafe({ error: e.message }, { status: toolProxyHttpStatus(e) })),
      Forbidden: (e) => Effect.succeed(HttpServerResponse.jsonUnsafe({ error: e.error }, { status: 403 })),
      InvalidRequest: (e) => Effect.succeed(HttpServerResponse.jsonUnsafe({ error: e.error }, { status: 400 })),
    }),
  )

const ToolsHandlers = HttpApiBuilder.group(PoolApi, "tools", Effect.fn(function*(handlers) {
  const pool = yield* Pool
  const instances = yield* Instances
  const proxy = yield* ToolProxy
  /** What the pool knows of the instance's own resources; it never acts on another's. */
  const toolsOf = (instanceId: string) =>
    Effect.map(instances.resourcesOf(instanceId), (resources): InstanceTools => {
      const active = (tool: string) => resources.find((r) => r.tool === tool && r.status === "active")?.resource_id ?? undefined
      return { instanceId, agentmailInboxId: active("agentmail"), telnyxPhoneNumber: active("telnyx") }
    })
  const run = <A>(
    request: HttpServerRequest.HttpServerRequest,
    instanceId: string,
    act: (tools: InstanceTools) => Effect.Effect<A, ToolProxyError | InvalidRequest>,
  ) =>
    toolResponse(Effect.gen(function*() {
      const instance = yield* instanceOf(request, instanceId)
      return yield* act(yield* toolsOf(instance.id))
    })).pipe(Effect.provideService(Pool, pool))

  return handlers
    .handleRaw("sendEmail", ({ request, headers }) =>
      run(request, headers["x-instance-id"], (tools) =>
        Effect.flatMap(readJsonBody(request, Schema.Unknown), (body) => proxy.sendEmail(tools, body))))
    .handleRaw("inbox", ({ request, headers, query }) =>
      run(request, headers["x-instance-id"], (tools) =>
        query.limit !== undefined && !/^[0-9]{1,4}$/.test(query.limit)
          ? Effect.fail(new InvalidRequest({ error: "limit must be a whole number" }))
          : Effect.map(
          proxy.listInbox(tools, query.limit === undefined ? {} : { limit: Number(query.limit) }),
          (messages) => ({ messages }),
        )))
    .handleRaw("readEmail", ({ request, headers, params }) =>
      run(request, headers["x-instance-id"], (tools) => proxy.readEmail(tools, { messageId: params.messageId })))
    .handleRaw("sendSms", ({ request, headers }) =>
      run(request, headers["x-instance-id"], (tools) =>
        Effect.flatMap(readJsonBody(request, Schema.Unknown), (body) => proxy.sendSms(tools, body))))
}))

export const ApiHandlers = Layer.mergeAll(PublicHandlers, AdminHandlers, TemplatesAdminHandlers, InstanceHandlers, ToolsHandlers)

export const ApiRoutes = HttpApiBuilder.layer(PoolApi, { openapiPath: "/api/openapi.json" }).pipe(
  Layer.provide(ApiHandlers),
  Layer.provide(ApiKeyAuthLayer.pipe(Layer.provide(DataDir.layer))),
)

