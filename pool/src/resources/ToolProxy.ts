import { Context, Effect, Layer, Option, Schema } from "effect"
import { AgentMail, type InboxMessage, type SentEmail } from "./AgentMail.ts"
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
 *   POST /api/tools/sms/send     {to, text}           → 200 {messageId}
 * Errors → `{error}` with `toolProxyHttpStatus(error)`.
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

/** 1,600 characters: ten concatenated SMS segments, Telnyx's ceiling for one message. */
export const SendSmsRequest = Schema.Struct({
  to: PhoneNumber,
  text: NonBlank(1_600, "text"),
})
export type SendSmsRequest = typeof SendSmsRequest.Type

export class ToolProxyError extends Schema.TaggedError<ToolProxyError>()("ToolProxyError", {
  reason: Schema.Literals(["InvalidRequest", "NotProvisioned", "NotConfigured", "ProviderFailed"]),
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
    case "ProviderFailed":
      return error.retryable ? 503 : 502
  }
}

const invalid = (issue: unknown) =>
  new ToolProxyError({ reason: "InvalidRequest", message: String(issue), retryable: false })
const providerFailed = (error: ToolError) =>
  new ToolProxyError({ reason: "ProviderFailed", message: `${error.tool}: ${error.message}`, retryable: error.retryable })

export class ToolProxy extends Context.Service<ToolProxy, {
  /** `request` is untrusted input (a route body); it is validated here. */
  sendEmail(tools: InstanceTools, request: unknown): Effect.Effect<SentEmail, ToolProxyError>
  listInbox(tools: InstanceTools, request: unknown): Effect.Effect<ReadonlyArray<InboxMessage>, ToolProxyError>
  sendSms(tools: InstanceTools, request: unknown): Effect.Effect<SentSms, ToolProxyError>
}>()("pool/resources/ToolProxy") {
  /** Works with whichever of AgentMail and Telnyx are provided; the others answer `NotConfigured`. */
  static readonly layer = Layer.effect(
    ToolProxy,
    Effect.gen(function*() {
      const agentMail = yield* Effect.serviceOption(AgentMail)
      const telnyx = yield* Effect.serviceOption(Telnyx)

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
        return yield* mail.sendMessage(inboxId, input).pipe(Effect.mapError(providerFailed))
      })

      const listInbox = Effect.fn("ToolProxy.listInbox")(function*(tools: InstanceTools, request: unknown) {
        const input = yield* Schema.decodeUnknownEffect(ListInboxRequest)(request).pipe(Effect.mapError(invalid))
        const { mail, inboxId } = yield* inboxOf(tools)
        return yield* mail.listMessages(inboxId, input.limit ?? 20).pipe(Effect.mapError(providerFailed))
      })

      const sendSms = Effect.fn("ToolProxy.sendSms")(function*(tools: InstanceTools, request: unknown) {
        const input = yield* Schema.decodeUnknownEffect(SendSmsRequest)(request).pipe(Effect.mapError(invalid))
        if (Option.isNone(telnyx)) return yield* notConfigured("SMS")
        if (tools.telnyxPhoneNumber === undefined) return yield* notProvisioned(tools, "phone number")
        return yield* telnyx.value.sendSms(tools.telnyxPhoneNumber, input).pipe(Effect.mapError(providerFailed))
      })

      return ToolProxy.of({ sendEmail, listInbox, sendSms })
    }),
  )
}
