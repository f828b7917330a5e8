import { ByteSize, Config, Context, Duration, Effect, Layer, Option, Redacted } from "effect"
import { HttpIncomingMessage, HttpRouter, HttpServerResponse } from "effect/http"
import { InboundReply, paths } from "../../../contract/index.ts"
import { contractCall } from "../contractHttp.ts"
import { InstanceTokens } from "../InstanceTokens.ts"
import { ToolProxy } from "../resources/ToolProxy.ts"
import { agentMailAction, telnyxAction, verifyAgentMail, verifyTelnyx, type WebhookAction } from "../resources/webhooks.ts"

/**
 * Provider webhooks on the pool: `POST /webhooks/agentmail` (mail received) and `POST /webhooks/telnyx` (texts received,
 * our own texts that failed). A webhook is verified first (Svix HMAC for AgentMail with `AGENTMAIL_WEBHOOK_SECRET`,
 * Ed25519 for Telnyx with `TELNYX_PUBLIC_KEY`); one that cannot be verified is 401 and changes nothing. A verified one
 * goes to the agent holding that inbox or number (`ToolProxy.ownerOf`), over its slot route
 * `POST /slots/:id/inbound` with its own token; the agent then tells its conversation. Answers:
 *   200 {delivered}            told the agent (delivered: false when it has no conversation yet)
 *   200 {ignored}              an event the agent does not need (sent, delivered, opened, …)
 *   400 / 401 / 404 {error}    malformed, unverifiable, or for an inbox or number no agent holds: nothing changes
 *   502 {error}                the agent's host did not take it: the provider retries later
 */

export type WebhookProvider = "agentmail" | "telnyx"

export interface WebhookAnswer {
  readonly status: number
  readonly body: Readonly<Record<string, unknown>>
}

export interface WebhookOptions {
  readonly agentMailSecret: Option.Option<Redacted.Redacted<string>>
  readonly telnyxPublicKey: Option.Option<string>
  readonly deliveryTimeout: Duration.Duration
  /** Seconds since the epoch (tests pin it). */
  readonly nowSeconds?: () => number
}

/** AgentMail message events carry the whole message; a megabyte covers them, not an abuse of the route. */
const maxWebhookBytes = 1024 * 1024

/** Agents in a conversation: the only ones with someone to tell. */
const inConversation = new Set(["claimed", "pending_acceptance"])

export class InboundWebhooks extends Context.Service<InboundWebhooks, {
  handle(
    provider: WebhookProvider,
    headers: Readonly<Record<string, string | undefined>>,
    body: string,
  ): Effect.Effect<WebhookAnswer>
}>()("pool/http/InboundWebhooks") {
  static readonly layerWith = (options: WebhookOptions) => Layer.effect(
    InboundWebhooks,
    Effect.gen(function*() {
      const proxy = yield* ToolProxy
      const tokens = yield* InstanceTokens
      const now = options.nowSeconds ?? (() => Math.floor(Date.now() / 1000))
      const error = (status: number, message: string): WebhookAnswer => ({ status, body: { error: message } })

      const verified = (provider: WebhookProvider, headers: Readonly<Record<string, string | undefined>>, body: string) => {
        if (provider === "agentmail") {
          if (Option.isNone(options.agentMailSecret)) return { ok: false as const, reason: "AGENTMAIL_WEBHOOK_SECRET is not set" }
          return verifyAgentMail(Redacted.value(options.agentMailSecret.value), headers, body, now())
        }
        if (Option.isNone(options.telnyxPublicKey)) return { ok: false as const, reason: "TELNYX_PUBLIC_KEY is not set" }
        return verifyTelnyx(options.telnyxPublicKey.value, headers, body, now())
      }

      const deliver = (action: Extract<WebhookAction, { kind: "deliver" }>) =>
        Effect.gen(function*() {
          const found = yield* proxy.ownerOf(action.tool, action.resourceId)
          const what = action.tool === "agentmail" ? "inbox" : "number"
          if (Option.isNone(found)) return error(404, `no agent holds this ${what}`)
          const owner = found.value
          if (!inConversation.has(owner.status) || owner.url === null) {
            return { status: 200, body: { delivered: false, reason: "the agent is not in a conversation" } }
          }
          return yield* contractCall({
            operation: "inbound",
            method: "POST",
            url: owner.url + paths.slotInbound(owner.instanceId),
            token: tokens.tokenFor(owner.instanceId),
            answer: InboundReply,
            timeout: options.deliveryTimeout,
            body: action.notice,
          }).pipe(
            Effect.map((reply): WebhookAnswer => ({ status: 200, body: { delivered: reply.delivered } })),
            Effect.catch((failure) =>
              Effect.as(
                Effect.logWarning(`inbound ${action.notice.kind} for ${owner.instanceId} not delivered: ${failure.message}`),
                error(502, "the agent's host did not take it; try again later"),
              )
            ),
          )
        })

      const handle = Effect.fn("InboundWebhooks.handle")(
        function*(provider: WebhookProvider, headers: Readonly<Record<string, string | undefined>>, body: string) {
          const verdict = verified(provider, headers, body)
          if (!verdict.ok) {
            yield* Effect.logWarning(`${provider} webhook refused: ${verdict.reason}`)
            return error(401, `webhook not verified: ${verdict.reason}`)
          }
          let payload: unknown
          try {
            payload = JSON.parse(body)
          } catch {
            return error(400, "body is not JSON")
          }
          const action = provider === "agentmail" ? agentMailAction(payload) : telnyxAction(payload)
          if (action.kind === "invalid") return error(400, action.reason)
          if (action.kind === "ignore") return { status: 200, body: { ignored: action.reason } }
          return yield* deliver(action)
        },
      )
      return InboundWebhooks.of({ handle })
    }),
  )

  /** `AGENTMAIL_WEBHOOK_SECRET` (`whsec_…`) and `TELNYX_PUBLIC_KEY` (base64); without one, that route answers 401. */
  static readonly layer = Layer.unwrap(Effect.gen(function*() {
    const agentMailSecret = yield* Config.option(Config.Redacted("AGENTMAIL_WEBHOOK_SECRET"))
    const telnyxPublicKey = yield* Config.option(Config.String("TELNYX_PUBLIC_KEY"))
    return InboundWebhooks.layerWith({ agentMailSecret, telnyxPublicKey, deliveryTimeout: Duration.seconds(15) })
  }))
}

/** The two routes; they read the raw body, which the signatures cover. */
export const WebhookRoutes = HttpRouter.use((router) =>
  Effect.gen(function*() {
    const hooks = yield* InboundWebhooks
    for (const provider of ["agentmail", "telnyx"] as const) {
      yield* router.add("POST", `/webhooks/${provider}`, (request) =>
        request.text.pipe(
          Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(maxWebhookBytes)),
          Effect.flatMap((body) => hooks.handle(provider, request.headers, body)),
          Effect.map((answer) => HttpServerResponse.jsonUnsafe(answer.body, { status: answer.status })),
          Effect.catch(() =>
            Effect.succeed(HttpServerResponse.jsonUnsafe({ error: "body too large or unreadable" }, { status: 413 }))
          ),
        ))
    }
  })
)
