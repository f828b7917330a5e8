import { Config, Context, Effect, Layer, Option, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { AgentMail, type EmailMessage, type InboxMessage, type SentEmail } from "./AgentMail.ts"
import { type SentSms, Telnyx } from "./Telnyx.ts"
import type { ToolError } from "./ToolProvider.ts"

/**
 * Email and SMS on behalf of one instance. Instances hold no provider key: they call the pool's routes with their
 * own token, the routes (already authenticated) load the instance's resources and call this service, which uses the
 * master keys and acts only on that instance's own inbox or number.
 *
 * Suggested routes (instance token auth, JSON):
 *   POST /api/tools/email/send   {to, subject, text}  → 200 {messageId, threadId}
 *   GET  /api/tools/email/inbox?limit=20              → 200 {messages: [...]}
 *   GET  /api/tools/email/messages/:messageId         → 200 {message: {..., text}}
 *   POST /api/tools/sms/send     {to, text}           → 200 {messageId}
 * Errors → `{error}` with `toolProxyHttpStatus(error)`. Sends are capped per instance and hour (`RateLimited`, 429).
 */

/** What the pool knows of one instance's resources (from `instance_resources`, status `active`). */
export interface InstanceTools {
  readonly instanceId: string
  readonly agentmailInboxId?: string | undefined
  readonly telnyxPhoneNumber?: string | undefined
}

const EmailAddress = Schema.String.check(
  Schema.isPattern(/^[^\s@<>,;"]+@[^\s@<>,;"]+\.[^\s@<>,;"]+$/, { message: "to must be one email address" }),
  Schema.isMaxLength(254),
)
const PhoneNumber = Schema.String.check(
  Schema.isPattern(/^\+[1-9][0-9]{6,14}$/, { message: "to must be an E.164 number such as +15551234567" }),
)
const NonBlank = (max: number, name: string) =>
  Schema.String.check(
    Schema.isPattern(/\S/, { message: `${name} must not be empty` }),
    Schema.isMaxLength(max, { message: `${name} is longer than ${max} characters` }),
  )

export const SendEmailRequest = Schema.Struct({
  to: EmailAddress,
  subject: NonBlank(200, "subject"),
  text: NonBlank(50_000, "text"),
})
export type SendEmailRequest = typeof SendEmailRequest.Type

export const ListInboxRequest = Schema.Struct({
  limit: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 50 }))),
})
export type ListInboxRequest = typeof ListInboxRequest.Type

export const ReadEmailRequest = Schema.Struct({
  messageId: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(1_000)),
})
export type ReadEmailRequest = typeof ReadEmailRequest.Type

/** 1,600 characters: ten concatenated SMS segments, Telnyx's ceiling for one message. */
export const SendSmsRequest = Schema.Struct({
  to: PhoneNumber,
  text: NonBlank(1_600, "text"),
})
export type SendSmsRequest = typeof SendSmsRequest.Type

export class ToolProxyError extends Schema.TaggedError<ToolProxyError>()("ToolProxyError", {
  reason: Schema.Literals(["InvalidRequest", "NotProvisioned", "NotConfigured", "RateLimited", "ProviderFailed"]),
  message: Schema.String,
  /** For ProviderFailed: the provider may succeed if asked again later. */
  retryable: Schema.Boolean,
}) {}

/** The HTTP status a route should answer for each failure. */
export const toolProxyHttpStatus = (error: ToolProxyError): number => {
  switch (error.reason) {
    case "InvalidRequest":
      return 400
    case "NotProvisioned":
      return 404
    case "NotConfigured":
      return 501
    case "RateLimited":
      return 429
    case "ProviderFailed":
      return error.retryable ? 503 : 502
  }
}


export interface ToolProxyLimits {
  readonly emailsPerHour: number
  readonly smsPerHour: number
  /** Why SMS is off although Telnyx has a key (no 10DLC campaign): the SMS tool's answer says so. */
  readonly smsOffReason?: string | undefined
}

const invalid = (issue: unknown) =>
  new ToolProxyError({ reason: "InvalidRequest", message: String(issue), retryable: false })
const providerFailed = (error: ToolError) =>
  new ToolProxyError({ reason: "ProviderFailed", message: `${error.tool}: ${error.message}`, retryable: error.retryable })

/** The agent holding an inbox or a number, as an inbound webhook needs it. */
export interface ResourceOwner {
  readonly instanceId: string
  readonly status: string
  /** Its host's URL (the slot routes), when placed. */
  readonly url: string | null
}

export class ToolProxy extends Context.Service<ToolProxy, {
  /** Who holds this inbox (`agentmail`) or number (`telnyx`) now: mail and texts for it go to that agent only. */
  ownerOf(tool: "agentmail" | "telnyx", resourceId: string): Effect.Effect<Option.Option<ResourceOwner>>
  /** `request` is untrusted input (a route body); it is validated here. */
  sendEmail(tools: InstanceTools, request: unknown): Effect.Effect<SentEmail, ToolProxyError>
  listInbox(tools: InstanceTools, request: unknown): Effect.Effect<ReadonlyArray<InboxMessage>, ToolProxyError>
  /** `NotProvisioned` (404) too when the message is not in the instance's own inbox. */
  readEmail(tools: InstanceTools, request: unknown): Effect.Effect<EmailMessage, ToolProxyError>
  sendSms(tools: InstanceTools, request: unknown): Effect.Effect<SentSms, ToolProxyError>
}>()("pool/resources/ToolProxy") {
  /** Works with whichever of AgentMail and Telnyx are provided; the others answer `NotConfigured`. */
  static readonly layerWith = (limits: ToolProxyLimits) => Layer.effect(
    ToolProxy,
    Effect.gen(function*() {
      const agentMail = yield* Effect.serviceOption(AgentMail)
      const telnyx = yield* Effect.serviceOption(Telnyx)
      const sql = yield* SqlClient.SqlClient
      const windowSeconds = 3_600

      /**
       * Sliding-window quota: an instance talked into spamming cannot send more than `limit` messages an hour. The
       * sends of the last hour live in the database, so every pool process counts the same ones; older ones are
       * deleted first, so what is left is the count. One instance's sends queue on a transaction lock (even across
       * processes), so concurrent sends cannot both take the last slot.
       */
      const takeSlotInDatabase = (kind: "email" | "sms", instanceId: string, limit: number) =>
        sql.withTransaction(Effect.gen(function*() {
          yield* sql`SELECT pg_advisory_xact_lock(hashtext(${`tool-send:${kind}:${instanceId}`}))`
          yield* sql`DELETE FROM tool_sends WHERE instance_id = ${instanceId} AND kind = ${kind}
            AND sent_at <= now() - make_interval(secs => ${windowSeconds})`
          const [recent] = yield* sql<{ readonly n: number }>`
            SELECT count(*)::int AS n FROM tool_sends WHERE instance_id = ${instanceId} AND kind = ${kind}`
          if ((recent?.n ?? 0) >= limit) return false
          yield* sql`INSERT INTO tool_sends (instance_id, kind) VALUES (${instanceId}, ${kind})`
          return true
        })).pipe(Effect.orDie)

      const takeSlot = (kind: "email" | "sms", instanceId: string) =>
        Effect.gen(function*() {
          const limit = kind === "email" ? limits.emailsPerHour : limits.smsPerHour
          const allowed = yield* takeSlotInDatabase(kind, instanceId, limit)
          if (!allowed) {
            return yield* new ToolProxyError({
              reason: "RateLimited",
              message: `instance ${instanceId} may send at most ${limit} ${kind === "email" ? "emails" : "texts"} per hour`,
              retryable: true,
            })
          }
        })

      const notConfigured = (what: string) =>
        new ToolProxyError({ reason: "NotConfigured", message: `${what} is not set up on this pool`, retryable: false })
      const notProvisioned = (tools: InstanceTools, what: string) =>
        new ToolProxyError({
          reason: "NotProvisioned",
          message: `instance ${tools.instanceId} has no ${what}`,
          retryable: false,
        })

      const inboxOf = (tools: InstanceTools) =>
        Effect.gen(function*() {
          if (Option.isNone(agentMail)) return yield* notConfigured("email")
          if (tools.agentmailInboxId === undefined) return yield* notProvisioned(tools, "email inbox")
          return { mail: agentMail.value, inboxId: tools.agentmailInboxId }
        })

      const sendEmail = Effect.fn("ToolProxy.sendEmail")(function*(tools: InstanceTools, request: unknown) {
        const input = yield* Schema.decodeUnknownEffect(SendEmailRequest)(request).pipe(Effect.mapError(invalid))
        const { mail, inboxId } = yield* inboxOf(tools)
        yield* takeSlot("email", tools.instanceId)
        return yield* mail.sendMessage(inboxId, input).pipe(Effect.mapError(providerFailed))
      })

      const listInbox = Effect.fn("ToolProxy.listInbox")(function*(tools: InstanceTools, request: unknown) {
        const input = yield* Schema.decodeUnknownEffect(ListInboxRequest)(request).pipe(Effect.mapError(invalid))
        const { mail, inboxId } = yield* inboxOf(tools)
        return yield* mail.listMessages(inboxId, input.limit ?? 20).pipe(Effect.mapError(providerFailed))
      })

      const readEmail = Effect.fn("ToolProxy.readEmail")(function*(tools: InstanceTools, request: unknown) {
        const input = yield* Schema.decodeUnknownEffect(ReadEmailRequest)(request).pipe(Effect.mapError(invalid))
        const { mail, inboxId } = yield* inboxOf(tools)
        const message = yield* mail.getMessage(inboxId, input.messageId).pipe(Effect.mapError(providerFailed))
        if (Option.isNone(message)) return yield* notProvisioned(tools, `message ${input.messageId} in its inbox`)
        return message.value
      })

      const sendSms = Effect.fn("ToolProxy.sendSms")(function*(tools: InstanceTools, request: unknown) {
        const input = yield* Schema.decodeUnknownEffect(SendSmsRequest)(request).pipe(Effect.mapError(invalid))
        if (Option.isNone(telnyx)) {
          return yield* limits.smsOffReason === undefined
            ? notConfigured("SMS")
            : new ToolProxyError({ reason: "NotConfigured", message: limits.smsOffReason, retryable: false })
        }
        if (tools.telnyxPhoneNumber === undefined) return yield* notProvisioned(tools, "phone number")
        yield* takeSlot("sms", tools.instanceId)
        return yield* telnyx.value.sendSms(tools.telnyxPhoneNumber, input).pipe(Effect.mapError(providerFailed))
      })

      const ownerOf = Effect.fn("ToolProxy.ownerOf")(function*(tool: "agentmail" | "telnyx", resourceId: string) {
        const rows = yield* sql<{ readonly id: string; readonly url: string | null; readonly status: string }>`
          SELECT i.id, i.url, i.status FROM instance_resources r JOIN instances i ON i.id = r.instance_id
          WHERE r.tool = ${tool} AND r.resource_id = ${resourceId} AND r.status = 'active'`.pipe(Effect.orDie)
        return Option.map(Option.fromNullishOr(rows[0]), (row): ResourceOwner => ({
          instanceId: row.id,
          status: row.status,
          url: row.url,
        }))
      })

      return ToolProxy.of({ ownerOf, sendEmail, listInbox, readEmail, sendSms })
    }),
  )

  /** Limits from `TOOL_PROXY_EMAILS_PER_HOUR` / `TOOL_PROXY_SMS_PER_HOUR` (default 30 each, per instance). */
  static readonly layer = Layer.unwrap(Effect.gen(function*() {
    const limits = yield* Config.all({
      emailsPerHour: Config.Int("TOOL_PROXY_EMAILS_PER_HOUR").pipe(Config.withDefault(30)),
      smsPerHour: Config.Int("TOOL_PROXY_SMS_PER_HOUR").pipe(Config.withDefault(30)),
      smsOffReason: Telnyx.offReason,
    })
    return ToolProxy.layerWith(limits)
  }))
}
