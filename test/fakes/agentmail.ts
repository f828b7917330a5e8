/**
 * A loopback fake of AgentMail's API v0 as its documentation and the official SDK (agentmail 0.5.27) describe it:
 * - inboxes (`POST/GET /v0/inboxes`, `GET/DELETE /v0/inboxes/:id`): an inbox has an `inbox_id` and, separately, its
 *   `email` (the fake's ids are opaque, so a client that shows the id as an address is caught). Creates are
 *   idempotent by `client_id` as documented: a seen `client_id` returns the original result, even once that inbox
 *   is deleted (the documented rule taken literally; `settings.deletedClientIdReturnsOriginal = false` gives a new
 *   inbox instead).
 * - `POST /v0/inboxes/:id/messages/send` honours `Idempotency-Key`: a repeated key returns the first result and sends
 *   nothing. `GET /v0/inboxes/:id/messages?labels=received` filters by label (repeatable; the SDK's JSON-array form
 *   is read too). Sent messages carry `sent`, delivered ones `received`.
 * Faults via `inject` (providerHttp.ts).
 */
import { type FakeHttpServer, fakeId, startFakeHttp } from "./providerHttp.ts"

export interface FakeInbox {
  readonly inboxId: string
  readonly email: string
  readonly clientId: string | null
  readonly displayName: string | null
  readonly messages: Array<FakeEmail>
}

export interface FakeEmail {
  readonly message_id: string
  readonly thread_id: string
  readonly from: string
  readonly to: ReadonlyArray<string>
  readonly subject: string | null
  readonly text: string | null
  readonly preview: string | null
  readonly timestamp: string
  readonly labels: ReadonlyArray<string>
}

export interface FakeAgentMail extends FakeHttpServer {
  readonly apiUrl: string
  /** inbox id → inbox */
  readonly inboxes: Map<string, FakeInbox>
  readonly settings: { pageSize: number; defaultDomain: string; deletedClientIdReturnsOriginal: boolean }
  /** Inboxes deleted, with the client id they were created with. */
  readonly deleted: Array<FakeInbox>
  deliver(inboxId: string, message: { from: string; subject: string; text: string }): void
}

const summary = (inbox: FakeInbox) => ({
  inbox_id: inbox.inboxId,
  email: inbox.email,
  pod_id: "pod_fake",
  client_id: inbox.clientId,
  display_name: inbox.displayName,
  created_at: "2026-11-25T00:00:00Z",
  updated_at: "2026-11-25T00:00:00Z",
})

export const startFakeAgentMail = async (options: { readonly apiKey: string }): Promise<FakeAgentMail> => {
  const inboxes = new Map<string, FakeInbox>()
  const deleted: Array<FakeInbox> = []
  const settings = { pageSize: 100, defaultDomain: "agentmail.to", deletedClientIdReturnsOriginal: true }
  const sentByKey = new Map<string, unknown>()
  const server = await startFakeHttp({
    token: options.apiKey,
    handle: ({ method, path, query, body, headers }) => {
      if (path === "/v0/inboxes" && method === "POST") {
        const input = (body ?? {}) as { username?: string; domain?: string; display_name?: string; client_id?: string }
        const seen = (inbox: FakeInbox) => input.client_id !== undefined && inbox.clientId === input.client_id
        const existing = [...inboxes.values()].find(seen) ??
          (settings.deletedClientIdReturnsOriginal ? deleted.find(seen) : undefined)
        if (existing !== undefined) return { status: 200, body: summary(existing) }
        const email = `${input.username ?? fakeId("user")}@${input.domain ?? settings.defaultDomain}`.toLowerCase()
        if ([...inboxes.values()].some((inbox) => inbox.email === email)) {
          return { status: 409, body: { name: "AlreadyExistsError", message: "Inbox already exists" } }
        }
        const inbox: FakeInbox = {
          inboxId: fakeId("inb"),
          email,
          clientId: input.client_id ?? null,
          displayName: input.display_name ?? null,
          messages: [],
        }
        inboxes.set(inbox.inboxId, inbox)
        return { status: 200, body: summary(inbox) }
      }
      if (path === "/v0/inboxes" && method === "GET") {
        const limit = Math.min(Number(query.get("limit") ?? settings.pageSize), settings.pageSize)
        const start = Number(query.get("page_token") ?? 0)
        const all = [...inboxes.values()]
        const page = all.slice(start, start + limit)
        const next = start + page.length < all.length ? String(start + page.length) : undefined
        return {
          status: 200,
          body: { count: page.length, limit, ...(next === undefined ? {} : { next_page_token: next }), inboxes: page.map(summary) },
        }
      }
      const single = /^\/v0\/inboxes\/([^/]+)\/messages\/([^/]+)$/.exec(path)
      if (single !== null && single[2] !== "send" && method === "GET") {
        const message = inboxes.get(single[1]!)?.messages.find((m) => m.message_id === single[2])
        if (message === undefined) return { status: 404, body: { name: "NotFoundError", message: "Message not found" } }
        return { status: 200, body: { ...message, inbox_id: single[1] } }
      }
      const match = /^\/v0\/inboxes\/([^/]+)(\/messages(\/send)?)?$/.exec(path)
      const inbox = match === null ? undefined : inboxes.get(decodeURIComponent(match[1]!))
      if (match !== null && inbox === undefined) {
        return { status: 404, body: { name: "NotFoundError", message: "Inbox not found" } }
      }
      if (match !== null && inbox !== undefined) {
        if (match[2] === undefined && method === "DELETE") {
          inboxes.delete(inbox.inboxId)
          deleted.push(inbox)
          return { status: 200 }
        }
        if (match[2] === undefined && method === "GET") return { status: 200, body: summary(inbox) }
        if (match[3] !== undefined && method === "POST") {
          const idempotencyKey = headers["idempotency-key"]
          if (idempotencyKey !== undefined && sentByKey.has(idempotencyKey)) return { status: 200, body: sentByKey.get(idempotencyKey) }
          const input = (body ?? {}) as { to?: string | Array<string>; subject?: string; text?: string }
          const to = typeof input.to === "string" ? [input.to] : input.to ?? []
          if (to.length === 0) return { status: 400, body: { name: "ValidationError", message: "to is required" } }
          const message: FakeEmail = {
            message_id: `<${fakeId("msg")}@agentmail.to>`,
            thread_id: fakeId("thread"),
            from: inbox.email,
            to,
            subject: input.subject ?? null,
            text: input.text ?? null,
            preview: input.text?.slice(0, 100) ?? null,
            timestamp: new Date().toISOString(),
            labels: ["sent"],
          }
          inbox.messages.unshift(message)
          const answer = { message_id: message.message_id, thread_id: message.thread_id }
          if (idempotencyKey !== undefined) sentByKey.set(idempotencyKey, answer)
          return { status: 200, body: answer }
        }
        if (match[2] !== undefined && match[3] === undefined && method === "GET") {
          const limit = Number(query.get("limit") ?? 20)
          const labels = query.getAll("labels").flatMap((value) => value.startsWith("[") ? JSON.parse(value) as Array<string> : [value])
          const page = inbox.messages.filter((m) => labels.every((label) => m.labels.includes(label))).slice(0, limit)
          return { status: 200, body: { count: page.length, limit, messages: page } }
        }
      }
      return { status: 404, body: { name: "NotFoundError", message: `no route ${method} ${path}` } }
    },
  })
  return Object.assign(server, {
    apiUrl: server.url,
    inboxes,
    deleted,
    settings,
    deliver: (inboxId: string, message: { from: string; subject: string; text: string }) => {
      const inbox = inboxes.get(inboxId)
      if (inbox === undefined) throw new Error(`fake agentmail: no inbox ${inboxId}`)
      inbox.messages.unshift({
        message_id: `<${fakeId("msg")}@example.com>`,
        thread_id: fakeId("thread"),
        from: message.from,
        to: [inbox.email],
        subject: message.subject,
        text: message.text,
        preview: message.text.slice(0, 100),
        timestamp: new Date().toISOString(),
        labels: ["received"],
      })
    },
  })
}
