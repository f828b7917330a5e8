import { Config, Context, Duration, Effect, Layer, Option, Redacted, Schema } from "effect"
import { FetchHttpClient, HttpClient } from "effect/http"
import {
  decodeBody,
  makeRest,
  RestCallError,
  toToolError,
  transientRetry,
} from "./providerRest.ts"
import type { CreatedResource, ToolError, ToolProvider } from "./ToolProvider.ts"

/**
 * An AgentMail inbox per agent (API v0). The create carries `client_id = <prefix><instanceId>`, which AgentMail
 * makes idempotent, so retrying a create that timed out returns the same inbox instead of a second one. AgentMail
 * documents that a seen `client_id` returns the original result; for a deleted inbox that would be a ghost, so every
 * create looks the inbox up, and a gone one is created again under the next client id (`<clientId>~2`, `~3`).
 *
 * The instance gets `AGENTMAIL_INBOX_ID` and its address `AGENTMAIL_ADDRESS` (the API's `email`, which need not equal
 * the id); sending and reading go through the pool (`ToolProxy`), which holds the API key. Sends carry an
 * `Idempotency-Key`, so a send whose answer was lost (5xx, timeout) is asked again without mailing twice. The inbox
 * listing shows received mail (`labels=received`), not the agent's own sends.
 *
 * Hand-written REST rather than the official `agentmail` SDK: every call goes through `providerRest`, where the pool's
 * retry policy, timeouts, interruption and secret-free errors live; the SDK's own fetcher retries with its own policy.
 * Paths, fields and the `Idempotency-Key` header follow the SDK (agentmail 0.5.27); the fake is held to the SDK by
 * test/fakes/sdkConformance.test.ts.
 */

export const tool = "agentmail"

/** Client ids tried when AgentMail answers a create with an inbox that was deleted. */
const ghostAttempts = 3

export interface AgentMailOptions {
  readonly apiUrl: string
  readonly apiKey: Redacted.Redacted<string>
  /** Custom sending domain; AgentMail's default domain when unset. */
  readonly domain: string | undefined
  readonly displayName: string
  readonly namePrefix: string
  readonly requestTimeout: Duration.Input
  readonly retryBase: Duration.Input
}

export interface SentEmail {
  readonly messageId: string
  readonly threadId: string
}

export interface EmailMessage extends InboxMessage {
  readonly text: string | null
}

export interface InboxMessage {
  readonly messageId: string
  readonly threadId: string
  readonly from: string
  readonly to: ReadonlyArray<string>
  readonly subject: string | null
  readonly preview: string | null
  readonly timestamp: string
}

const Inbox = Schema.Struct({
  inbox_id: Schema.String,
  email: Schema.String,
  client_id: Schema.optional(Schema.NullOr(Schema.String)),
})
const InboxPage = Schema.Struct({
  inboxes: Schema.Array(Inbox),
  next_page_token: Schema.optional(Schema.NullOr(Schema.String)),
})
const Sent = Schema.Struct({ message_id: Schema.String, thread_id: Schema.String })
/** A message as listings show it; a single message adds its text. */
const MessageSummary = Schema.Struct({
  message_id: Schema.String,
  thread_id: Schema.String,
  from: Schema.String,
  to: Schema.optional(Schema.Array(Schema.String)),
  subject: Schema.optional(Schema.NullOr(Schema.String)),
  preview: Schema.optional(Schema.NullOr(Schema.String)),
  timestamp: Schema.String,
})
const FullMessage = Schema.Struct({
  ...MessageSummary.fields,
  text: Schema.optional(Schema.NullOr(Schema.String)),
  extracted_text: Schema.optional(Schema.NullOr(Schema.String)),
})
const MessagePage = Schema.Struct({ messages: Schema.Array(MessageSummary) })

/** The summary AgentMail gives of a message, in our names (a listing and a single message share it). */
const toInboxMessage = (message: typeof MessageSummary.Type): InboxMessage => ({
  messageId: message.message_id,
  threadId: message.thread_id,
  from: message.from,
  to: message.to ?? [],
  subject: message.subject ?? null,
  preview: message.preview ?? null,
  timestamp: message.timestamp,
})

export class AgentMail extends Context.Service<AgentMail, {
  readonly tool: ToolProvider
  /** Sends from one inbox (the caller has checked it is the instance's own), with an idempotency key. */
  sendMessage(
    inboxId: string,
    message: { readonly to: string; readonly subject: string; readonly text: string },
  ): Effect.Effect<SentEmail, ToolError>
  /** The newest messages one inbox received. */
  listMessages(inboxId: string, limit: number): Effect.Effect<ReadonlyArray<InboxMessage>, ToolError>
  /** One message of one inbox with its text (`None` when that inbox has no such message). */
  getMessage(inboxId: string, messageId: string): Effect.Effect<Option.Option<EmailMessage>, ToolError>
}>()("pool/resources/AgentMail") {
  static readonly make = (options: AgentMailOptions) =>
    Effect.gen(function*() {
      const rest = makeRest(yield* HttpClient.HttpClient, {
        baseUrl: options.apiUrl,
        key: options.apiKey,
        requestTimeout: options.requestTimeout,
      })
      const clientIdOf = (instanceId: string) => `${options.namePrefix}${instanceId}`
      /** The client ids an instance's inbox may carry: the first, and those after a ghost (`~2`, `~3`). */
      const isClientIdOf = (instanceId: string, clientId: string | null | undefined) =>
        clientId === clientIdOf(instanceId) || (clientId?.startsWith(`${clientIdOf(instanceId)}~`) ?? false)
      const inboxPath = (inboxId: string) => `/v0/inboxes/${encodeURIComponent(inboxId)}`

      const findByClientId = (matches: (clientId: string | null | undefined) => boolean): Effect.Effect<Option.Option<string>, RestCallError> =>
        Effect.gen(function*() {
          let pageToken: string | undefined
          for (;;) {
            const page = yield* rest("listInboxes", {
              method: "GET",
              path: "/v0/inboxes",
              query: { limit: "100", ...(pageToken === undefined ? {} : { page_token: pageToken }) },
            }).pipe(
              Effect.retry(transientRetry(options.retryBase)),
              Effect.flatMap((response) => decodeBody("listInboxes", InboxPage)(response.body)),
            )
            const match = page.inboxes.find((inbox) => matches(inbox.client_id))
            if (match !== undefined) return Option.some(match.inbox_id)
            if (!page.next_page_token) return Option.none()
            pageToken = page.next_page_token
          }
        })

      const createWith = (clientId: string, username: string) =>
        rest("createInbox", {
          method: "POST",
          path: "/v0/inboxes",
          body: {
            username,
            ...(options.domain === undefined ? {} : { domain: options.domain }),
            display_name: options.displayName,
            client_id: clientId,
          },
        }).pipe(
          // Idempotent by client_id: every transient failure may be retried.
          Effect.retry(transientRetry(options.retryBase)),
          Effect.flatMap((response) => decodeBody("createInbox", Inbox)(response.body)),
        )

      const exists = (inboxId: string) =>
        rest("getInbox", { method: "GET", path: inboxPath(inboxId), accept: [404] }).pipe(
          Effect.retry(transientRetry(options.retryBase)),
          Effect.map((response) => response.status !== 404),
        )

      const create = Effect.fn("AgentMail.create")(function*(instanceId: string) {
        const base = clientIdOf(instanceId)
        for (let attempt = 1; attempt <= ghostAttempts; attempt++) {
          const clientId = attempt === 1 ? base : `${base}~${attempt}`
          // Mailbox names are case-insensitive; the client id keeps the instance id exactly.
          const inbox = yield* createWith(clientId, attempt === 1 ? base.toLowerCase() : `${base.toLowerCase()}-${attempt}`)
          if (!(yield* exists(inbox.inbox_id))) continue
          return {
            resourceId: inbox.inbox_id,
            env: { AGENTMAIL_INBOX_ID: Redacted.make(inbox.inbox_id), AGENTMAIL_ADDRESS: Redacted.make(inbox.email) },
            meta: { clientId, email: inbox.email },
          } satisfies CreatedResource
        }
        return yield* new RestCallError({
          operation: "createInbox",
          message: `client ids ${base} to ~${ghostAttempts} all answer deleted inboxes`,
          retryable: false,
        })
      }, (effect) => Effect.mapError(effect, toToolError(tool, "create")))

      const release = Effect.fn("AgentMail.release")(function*(_instanceId: string, inboxId: string) {
        yield* rest("deleteInbox", { method: "DELETE", path: inboxPath(inboxId), accept: [404] }).pipe(
          Effect.retry(transientRetry(options.retryBase)),
        )
      }, (effect) => Effect.mapError(effect, toToolError(tool, "release")))

      const find = Effect.fn("AgentMail.find")(
        (instanceId: string) => findByClientId((clientId) => isClientIdOf(instanceId, clientId)),
        (effect) => Effect.mapError(effect, toToolError(tool, "find")),
      )

      const sendMessage = Effect.fn("AgentMail.sendMessage")(
        function*(inboxId: string, message: { readonly to: string; readonly subject: string; readonly text: string }) {
          // One key per send, the same on every retry: AgentMail answers a repeat with the first result.
          const idempotencyKey = crypto.randomUUID()
          const sent = yield* rest("sendMessage", {
            method: "POST",
            path: `${inboxPath(inboxId)}/messages/send`,
            body: { to: [message.to], subject: message.subject, text: message.text },
            headers: { "Idempotency-Key": idempotencyKey },
          }).pipe(
            Effect.retry(transientRetry(options.retryBase)),
            Effect.flatMap((response) => decodeBody("sendMessage", Sent)(response.body)),
          )
          return { messageId: sent.message_id, threadId: sent.thread_id } satisfies SentEmail
        },
        (effect) => Effect.mapError(effect, toToolError(tool, "sendMessage")),
      )

      const listMessages = Effect.fn("AgentMail.listMessages")(function*(inboxId: string, limit: number) {
        const page = yield* rest("listMessages", {
          method: "GET",
          path: `${inboxPath(inboxId)}/messages`,
          // What others sent the agent; its own sends are in its chat already.
          query: { limit: String(limit), labels: "received" },
        }).pipe(
          Effect.retry(transientRetry(options.retryBase)),
          Effect.flatMap((response) => decodeBody("listMessages", MessagePage)(response.body)),
        )
        return page.messages.map(toInboxMessage)
      }, (effect) => Effect.mapError(effect, toToolError(tool, "listMessages")))

      const getMessage = Effect.fn("AgentMail.getMessage")(function*(inboxId: string, messageId: string) {
        const response = yield* rest("getMessage", {
          method: "GET",
          path: `${inboxPath(inboxId)}/messages/${encodeURIComponent(messageId)}`,
          accept: [404],
        }).pipe(Effect.retry(transientRetry(options.retryBase)))
        if (response.status === 404) return Option.none<EmailMessage>()
        const message = yield* decodeBody("getMessage", FullMessage)(response.body)
        return Option.some<EmailMessage>({
          ...toInboxMessage(message),
          // The reply without the quoted history when AgentMail could extract it.
          text: message.extracted_text ?? message.text ?? null,
        })
      }, (effect) => Effect.mapError(effect, toToolError(tool, "getMessage")))

      return AgentMail.of({
        tool: { tool, envKeys: ["AGENTMAIL_INBOX_ID", "AGENTMAIL_ADDRESS"], create, release, find },
        sendMessage,
        listMessages,
        getMessage,
      })
    })

  static readonly config = Config.all({
    apiKey: Config.Redacted("AGENTMAIL_API_KEY"),
    apiUrl: Config.String("AGENTMAIL_API_URL").pipe(Config.withDefault("https://api.agentmail.to")),
    domain: Config.option(Config.String("AGENTMAIL_DOMAIN")),
    displayName: Config.String("AGENTMAIL_DISPLAY_NAME").pipe(Config.withDefault("Convos Agent")),
    namePrefix: Config.String("AGENTMAIL_CLIENT_ID_PREFIX").pipe(Config.withDefault("convos-agent-")),
  }).pipe(Config.map(({ domain, ...values }): AgentMailOptions => ({
    ...values,
    domain: Option.getOrUndefined(domain),
    requestTimeout: Duration.seconds(15),
    retryBase: Duration.seconds(1),
  })))

  static readonly layerWith = (options: AgentMailOptions) =>
    Layer.effect(AgentMail, AgentMail.make(options)).pipe(Layer.provide(FetchHttpClient.layer))

  /** From `AGENTMAIL_*` configuration; fails to build without `AGENTMAIL_API_KEY`. */
  static readonly layer = Layer.unwrap(Effect.gen(function*() {
    return AgentMail.layerWith(yield* AgentMail.config)
  }))
}
