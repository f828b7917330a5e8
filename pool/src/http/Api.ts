import { Context, Schema } from "effect"
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiMiddleware, HttpApiSecurity, OpenApi } from "effect/http-api"
import { InstanceStatuses } from "../domain/InstanceStatus.ts"
import { HostStatuses } from "../domain/placement.ts"
import { ConversationId, SkillTag } from "../../../contract/index.ts"
import { TemplateFields } from "../domain/templates.ts"
import {
  ConfigureFailed,
  Forbidden,
  HostNotFound,
  IdempotencyConflict,
  InstanceNotFound,
  InvalidRequest,
  NoIdleInstance,
  NotConfigurable,
  ProvisionFailed,
  ShuttingDown,
  TemplateExists,
  TemplateNotFound,
  Unauthorized,
} from "../domain/errors.ts"

/**
 * The pool's HTTP API, kept for parity with the original convos-agents service. This module is only the definition
 * (schemas, routes, security), so the operator CLI and tests can build typed clients from it.
 */

export class ApiCaller extends Context.Service<ApiCaller, { readonly label: string }>()("pool/http/ApiCaller") {}

/** `Authorization: Bearer POOL_API_KEY`. */
export class ApiKeyAuth extends HttpApiMiddleware.Service<ApiKeyAuth, { provides: ApiCaller }>()("pool/http/ApiKeyAuth", {
  security: { bearer: HttpApiSecurity.bearer },
  error: Unauthorized,
}) {}

const Counts = Schema.Struct(Object.fromEntries(InstanceStatuses.map((s) => [s, Schema.Int])) as {
  [K in (typeof InstanceStatuses)[number]]: typeof Schema.Int
})

export const TemplateJson = Schema.Struct(TemplateFields)
/** A new template: `featured` defaults to false, `published` to true, `skills` to none. */
export const TemplateCreateBody = Schema.Struct({
  ...TemplateFields,
  skills: Schema.optional(TemplateFields.skills),
  featured: Schema.optional(Schema.Boolean),
  published: Schema.optional(Schema.Boolean),
})
/** Any fields but the slug; the rest stay as they are. */
export const TemplatePatchBody = Schema.Struct({
  name: Schema.optional(Schema.String),
  emoji: Schema.optional(Schema.String),
  category: Schema.optional(Schema.String),
  description: Schema.optional(Schema.String),
  instructions: Schema.optional(Schema.String),
  skills: Schema.optional(TemplateFields.skills),
  featured: Schema.optional(Schema.Boolean),
  published: Schema.optional(Schema.Boolean),
})

/** The query of the claim stream (the web page's launch has its own route). */
export const ClaimQuery = Schema.Struct({
  agentName: Schema.optional(Schema.String),
  instructions: Schema.optional(Schema.String),
  joinUrl: Schema.optional(Schema.String),
})

export const ClaimBody = Schema.Struct({
  ...ClaimQuery.fields,
  skills: Schema.optional(Schema.Array(SkillTag)).annotate({
    description: "Which tools the agent gets (a template's skill tags; email and sms only where the pool has them). Absent: web, memory, reminders.",
  }),
})

export const ClaimResultJson = Schema.Struct({
  inviteUrl: Schema.NullOr(Schema.String),
  conversationId: Schema.NullOr(Schema.String),
  instanceId: Schema.String,
  joined: Schema.Boolean,
  agentName: Schema.String,
  status: Schema.Literals(["claimed", "pending_acceptance"]),
})

/** What the API shows of an instance: never its token hash, compute references or provider resource secrets. */
export const InstanceJson = Schema.Struct({
  id: Schema.String,
  status: Schema.Literals(InstanceStatuses),
  /** The host holding this agent's slot. */
  hostId: Schema.NullOr(Schema.String),
  computeKind: Schema.String,
  inboxId: Schema.NullOr(Schema.String),
  agentName: Schema.NullOr(Schema.String),
  conversationId: Schema.NullOr(Schema.String),
  inviteUrl: Schema.NullOr(Schema.String),
  statusReason: Schema.NullOr(Schema.String),
  claimedAt: Schema.NullOr(Schema.String),
  createdAt: Schema.String,
  lastHealthAt: Schema.NullOr(Schema.String),
  resources: Schema.Array(Schema.Struct({ tool: Schema.String, resourceId: Schema.NullOr(Schema.String), status: Schema.String })),
})

/** What the API shows of a host: capacity, slots by status, health and compute kind (never its token or refs). */
export const HostJson = Schema.Struct({
  id: Schema.String,
  status: Schema.Literals(HostStatuses),
  draining: Schema.Boolean,
  computeKind: Schema.String,
  capacity: Schema.Int,
  /** Slots on the host (any status), and of those: handed out, idle, warming. */
  slots: Schema.Int,
  used: Schema.Int,
  idle: Schema.Int,
  starting: Schema.Int,
  version: Schema.NullOr(Schema.String),
  lastHealthAt: Schema.NullOr(Schema.String),
  createdAt: Schema.String,
})

export const ConfigureBody = Schema.Struct({
  agentName: Schema.optional(Schema.String),
  instructions: Schema.optional(Schema.String),
})
export const ConfiguredJson = Schema.Struct({ instanceId: Schema.String, agentName: Schema.NullOr(Schema.String) })

export const CountBody = Schema.Struct({ count: Schema.optional(Schema.Int) })
export const InstanceTokenBody = Schema.Struct({ instanceId: Schema.String, token: Schema.String })
export const JoinedBody = Schema.Struct({ instanceId: Schema.String, token: Schema.String, conversationId: ConversationId })

const Ok = Schema.Struct({ ok: Schema.Boolean })

export class PublicGroup extends HttpApiGroup.make("public")
  .add(
    HttpApiEndpoint.get("healthz", "/healthz", { success: Ok }),
    HttpApiEndpoint.get("version", "/version", {
      success: Schema.Struct({ version: Schema.String, environment: Schema.String }),
    }),
    HttpApiEndpoint.get("counts", "/api/pool/counts", { success: Counts }),
    HttpApiEndpoint.get("templates", "/api/pool/templates", { success: Schema.Array(TemplateJson) }),
    HttpApiEndpoint.get("template", "/api/pool/templates/:slug", {
      params: { slug: Schema.String },
      success: TemplateJson,
      error: TemplateNotFound,
    }),
  )
{}

export class AdminGroup extends HttpApiGroup.make("admin")
  .add(
    HttpApiEndpoint.post("claim", "/api/pool/claim", {
      payload: ClaimBody,
      headers: { "idempotency-key": Schema.optional(Schema.String) },
      success: ClaimResultJson,
      error: [InvalidRequest, NoIdleInstance, ProvisionFailed, IdempotencyConflict, ShuttingDown],
    }).annotate(OpenApi.Description, "Claims an idle agent: it creates a conversation, or joins the one of `joinUrl`."),
    HttpApiEndpoint.get("claimStream", "/api/pool/claim/stream", {
      query: ClaimQuery,
      success: Schema.String,
      error: [InvalidRequest],
    }).annotate(
      OpenApi.Description,
      "Server-sent events: `{type:\"step\", step, status, message}` per step, then `{type:\"complete\", ok, ...}`.",
    ),
    HttpApiEndpoint.get("status", "/api/pool/status", {
      success: Schema.Struct({ counts: Counts, hosts: Schema.Array(HostJson), instances: Schema.Array(InstanceJson) }),
    }),
    HttpApiEndpoint.post("drainHost", "/api/pool/hosts/:id/drain", {
      params: { id: Schema.String },
      success: Schema.Struct({ ok: Schema.Boolean, drained: Schema.Array(Schema.String), counts: Counts }),
      error: HostNotFound,
    }).annotate(
      OpenApi.Description,
      "Drains one host: it gets no new agents, its idle ones go now, claimed ones stay until removed; then it is destroyed.",
    ),
    HttpApiEndpoint.post("replenish", "/api/pool/replenish", {
      payload: CountBody,
      success: Schema.Struct({ ok: Schema.Boolean, created: Schema.Array(Schema.String), counts: Counts }),
      error: InvalidRequest,
    }),
    HttpApiEndpoint.post("drain", "/api/pool/drain", {
      payload: CountBody,
      success: Schema.Struct({ ok: Schema.Boolean, drained: Schema.Array(Schema.String), counts: Counts }),
      error: InvalidRequest,
    }),
    HttpApiEndpoint.post("reconcile", "/api/pool/reconcile", {
      success: Schema.Struct({
        ok: Schema.Boolean,
        hosts: Schema.Int,
        checked: Schema.Int,
        transitions: Schema.Int,
        reaped: Schema.Int,
        orphans: Schema.Int,
        created: Schema.Int,
        retired: Schema.Int,
      }),
    }),
    HttpApiEndpoint.delete("kill", "/api/pool/instances/:id", {
      params: { id: Schema.String },
      success: Ok,
      error: InstanceNotFound,
    }),
    HttpApiEndpoint.post("configure", "/api/pool/instances/:id/configure", {
      params: { id: Schema.String },
      payload: ConfigureBody,
      success: ConfiguredJson,
      error: [InvalidRequest, InstanceNotFound, NotConfigurable, ConfigureFailed],
    }),
  )
  .middleware(ApiKeyAuth)
{}

/** Routes an instance calls with its own token (never the API key). */
/** The template catalog (the web page, the public API and the manager read it): create, change, unpublish. */
export class TemplatesAdminGroup extends HttpApiGroup.make("templatesAdmin")
  .add(
    HttpApiEndpoint.get("listAll", "/api/pool/admin/templates", { success: Schema.Array(TemplateJson) })
      .annotate(OpenApi.Description, "Every template, unpublished ones too."),
    HttpApiEndpoint.post("create", "/api/pool/templates", {
      payload: TemplateCreateBody,
      success: TemplateJson,
      error: [InvalidRequest, TemplateExists],
    }),
    HttpApiEndpoint.patch("update", "/api/pool/templates/:slug", {
      params: { slug: Schema.String },
      payload: TemplatePatchBody,
      success: TemplateJson,
      error: [InvalidRequest, TemplateNotFound],
    }),
    HttpApiEndpoint.post("unpublish", "/api/pool/templates/:slug/unpublish", {
      params: { slug: Schema.String },
      success: TemplateJson,
      error: TemplateNotFound,
    }).annotate(OpenApi.Description, "Takes a template off the page, the API list and the manager; the row is kept."),
  )
  .middleware(ApiKeyAuth)
{}

export class InstanceGroup extends HttpApiGroup.make("instance")
  .add(
    HttpApiEndpoint.post("selfDestruct", "/api/pool/self-destruct", {
      payload: InstanceTokenBody,
      success: Ok,
      error: [InvalidRequest, Forbidden],
    }),
    HttpApiEndpoint.post("joined", "/api/pool/joined", {
      payload: JoinedBody,
      success: Ok,
      error: [InvalidRequest, Forbidden],
    }),
  )
{}

const InstanceHeaders = { "x-instance-id": Schema.String }
const ToolError = Schema.Struct({ error: Schema.String })

/**
 * Email and SMS for an instance's own inbox and number, with the instance's token as bearer and its id in
 * `X-Instance-Id`; the pool acts with its master keys and never shows them. Errors: 400 bad input, 403 bad token,
 * 404 no such resource on this instance, 429 hourly send quota, 501 tool not set up on this pool, 502/503 provider.
 */
export class ToolsGroup extends HttpApiGroup.make("tools")
  .add(
    HttpApiEndpoint.post("sendEmail", "/api/tools/email/send", {
      headers: InstanceHeaders,
      payload: Schema.Struct({ to: Schema.String, subject: Schema.String, text: Schema.String }),
      success: Schema.Struct({ messageId: Schema.String, threadId: Schema.NullOr(Schema.String) }),
      error: ToolError,
    }),
    HttpApiEndpoint.get("inbox", "/api/tools/email/inbox", {
      headers: InstanceHeaders,
      query: { limit: Schema.optional(Schema.String) },
      success: Schema.Struct({ messages: Schema.Array(Schema.Unknown) }),
      error: ToolError,
    }),
    HttpApiEndpoint.get("readEmail", "/api/tools/email/messages/:messageId", {
      headers: InstanceHeaders,
      params: { messageId: Schema.String },
      success: Schema.Unknown,
      error: ToolError,
    }),
    HttpApiEndpoint.post("sendSms", "/api/tools/sms/send", {
      headers: InstanceHeaders,
      payload: Schema.Struct({ to: Schema.String, text: Schema.String }),
      success: Schema.Struct({ messageId: Schema.String }),
      error: ToolError,
    }),
  )
{}

export class PoolApi extends HttpApi.make("convos-pool")
  .add(PublicGroup)
  .add(AdminGroup)
  .add(TemplatesAdminGroup)
  .add(InstanceGroup)
  .add(ToolsGroup)
  .annotateMerge(OpenApi.annotations({
    title: "Convos agents pool",
    description: "Pre-warmed Convos agent instances, claimed atomically.",
  }))
{}
