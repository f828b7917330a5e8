import { createHmac, createPublicKey, timingSafeEqual, verify } from "node:crypto"
import { type InboundNotice, limits } from "../../../contract/index.ts"

/**
 * The decisions on an incoming provider webhook, free of HTTP and database: is it genuine, and what does it say for
 * which inbox or number.
 *
 * - AgentMail delivers through Svix: `svix-id`, `svix-timestamp`, `svix-signature` (`v1,<base64>` entries, space
 *   separated), signed with HMAC-SHA256 over `<id>.<timestamp>.<raw body>` with the endpoint's `whsec_` secret
 *   (docs.agentmail.to/webhook-verification).
 * - Telnyx signs with Ed25519: `telnyx-signature-ed25519` (base64) over `<telnyx-timestamp>|<raw body>`, checked with
 *   the account's public key (Mission Control → Keys & Credentials → Public Key, base64).
 * Both refuse timestamps more than five minutes away from now, so a captured request cannot be replayed later.
 */

export const toleranceSeconds = 300

export type Verdict = { readonly ok: true } | { readonly ok: false; readonly reason: string }

type Headers = Readonly<Record<string, string | undefined>>

const stale = (timestamp: string | undefined, nowSeconds: number): string | undefined => {
  const seconds = Number(timestamp)
  if (timestamp === undefined || !Number.isInteger(seconds)) return "missing or malformed timestamp"
  return Math.abs(nowSeconds - seconds) > toleranceSeconds ? "timestamp too old or too new" : undefined
}

/** Svix's check, as AgentMail documents it. */
export const verifyAgentMail = (secret: string, headers: Headers, body: string, nowSeconds: number): Verdict => {
  const id = headers["svix-id"]
  const timestamp = headers["svix-timestamp"]
  const signatures = headers["svix-signature"]
  if (id === undefined || signatures === undefined) return { ok: false, reason: "missing svix-id or svix-signature" }
  const old = stale(timestamp, nowSeconds)
  if (old !== undefined) return { ok: false, reason: old }
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64")
  if (key.length === 0) return { ok: false, reason: "the signing secret is empty" }
  const expected = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest()
  const match = signatures.split(" ").some((entry) => {
    const [version, value] = entry.split(",")
    if (version !== "v1" || value === undefined) return false
    const given = Buffer.from(value, "base64")
    return given.length === expected.length && timingSafeEqual(given, expected)
  })
  return match ? { ok: true } : { ok: false, reason: "signature does not match" }
}

/** DER prefix of an Ed25519 SubjectPublicKeyInfo: the raw 32-byte key follows it. */
const ed25519SpkiPrefix = Buffer.from("302a300506032b6570032100", "hex")

/** Telnyx's Ed25519 check. */
export const verifyTelnyx = (publicKeyBase64: string, headers: Headers, body: string, nowSeconds: number): Verdict => {
  const signature = headers["telnyx-signature-ed25519"]
  const timestamp = headers["telnyx-timestamp"]
  if (signature === undefined) return { ok: false, reason: "missing telnyx-signature-ed25519" }
  const old = stale(timestamp, nowSeconds)
  if (old !== undefined) return { ok: false, reason: old }
  const raw = Buffer.from(publicKeyBase64, "base64")
  if (raw.length !== 32) return { ok: false, reason: "TELNYX_PUBLIC_KEY is not a base64 Ed25519 key" }
  const key = createPublicKey({ key: Buffer.concat([ed25519SpkiPrefix, raw]), format: "der", type: "spki" })
  const valid = verify(null, Buffer.from(`${timestamp}|${body}`), key, Buffer.from(signature, "base64"))
  return valid ? { ok: true } : { ok: false, reason: "signature does not match" }
}

/** What a verified webhook asks of the pool. */
export type WebhookAction =
  | { readonly kind: "deliver"; readonly tool: "agentmail" | "telnyx"; readonly resourceId: string; readonly notice: InboundNotice }
  | { readonly kind: "ignore"; readonly reason: string }
  | { readonly kind: "invalid"; readonly reason: string }

const record = (value: unknown): Record<string, unknown> | undefined =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : undefined
const text = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined)
const clip = (value: string, max: number) => (value.length > max ? `${value.slice(0, max - 1)}…` : value)

/** `message.received` of AgentMail: who wrote to which inbox, about what (the body stays with AgentMail). */
export const agentMailAction = (payload: unknown): WebhookAction => {
  const event = record(payload)
  const type = text(event?.["event_type"])
  if (type === undefined) return { kind: "invalid", reason: "no event_type" }
  if (type !== "message.received") return { kind: "ignore", reason: `event ${type} is not for the agent` }
  const message = record(event?.["message"])
  const inboxId = text(message?.["inbox_id"])
  const from = text(message?.["from"])
  const messageId = text(message?.["message_id"])
  if (inboxId === undefined || from === undefined || messageId === undefined) {
    return { kind: "invalid", reason: "message.received without message.inbox_id, from or message_id" }
  }
  const subject = text(message?.["subject"])
  return {
    kind: "deliver",
    tool: "agentmail",
    resourceId: inboxId,
    notice: {
      kind: "email",
      from: clip(from, limits.inboundFrom),
      subject: subject === undefined ? null : clip(subject, limits.inboundSubject),
      messageId,
    },
  }
}

const failedStatuses = new Set(["delivery_failed", "sending_failed", "delivery_unconfirmed"])

/**
 * Telnyx messaging events: an inbound text (`message.received`) goes to the number it was sent to; an outbound one that
 * finally failed (`message.finalized` with a failed recipient) goes back to the number that sent it.
 */
export const telnyxAction = (payload: unknown): WebhookAction => {
  const data = record(record(payload)?.["data"])
  const type = text(data?.["event_type"])
  if (type === undefined) return { kind: "invalid", reason: "no data.event_type" }
  const body = record(data?.["payload"])
  const from = text(record(body?.["from"])?.["phone_number"])
  const recipients = Array.isArray(body?.["to"]) ? (body["to"] as Array<unknown>).map(record) : []
  if (type === "message.received") {
    const to = text(recipients[0]?.["phone_number"])
    if (from === undefined || to === undefined) return { kind: "invalid", reason: "message.received without from or to" }
    return {
      kind: "deliver",
      tool: "telnyx",
      resourceId: to,
      notice: { kind: "sms", from: clip(from, limits.inboundFrom), text: clip(text(body?.["text"]) ?? "", limits.inboundText) },
    }
  }
  if (type === "message.finalized" && text(body?.["direction"]) === "outbound") {
    const failed = recipients.find((recipient) => failedStatuses.has(text(recipient?.["status"]) ?? ""))
    if (failed === undefined) return { kind: "ignore", reason: "delivered" }
    const to = text(failed?.["phone_number"])
    if (from === undefined || to === undefined) return { kind: "invalid", reason: "message.finalized without from or to" }
    const errors = Array.isArray(body?.["errors"]) ? (body["errors"] as Array<unknown>).map(record) : []
    const reason = errors.map((error) => text(error?.["detail"]) ?? text(error?.["title"]) ?? "").filter((r) => r !== "").join("; ")
    return {
      kind: "deliver",
      tool: "telnyx",
      resourceId: from,
      notice: {
        kind: "sms_failed",
        to: clip(to, limits.inboundFrom),
        reason: clip(reason || (text(failed?.["status"]) ?? "not delivered"), limits.inboundSubject),
      },
    }
  }
  return { kind: "ignore", reason: `event ${type} is not for the agent` }
}
