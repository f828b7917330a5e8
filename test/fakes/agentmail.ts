/**
 * A loopback fake of AgentMail's API v0: inboxes (`POST/GET /v0/inboxes`, `DELETE /v0/inboxes/:id`, idempotent by
 * `client_id` like the real one), `POST /v0/inboxes/:id/messages/send` and `GET /v0/inboxes/:id/messages`. Sent
 * messages are recorded; `deliver` puts a received message in an inbox. Faults via `inject` (providerHttp.ts).
 */
import { type FakeHttpServer, fakeId, startFakeHttp } from "./providerHttp.ts"

export interface FakeInbox {
  readonly inboxId: string
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
  readonly settings: { pageSize: number; defaultDomain: string }
  deliver(inboxId: string, message: { from: string; subject: string; text: string }): void
}

const summary = (inbox: FakeInbox) => ({
  inbox_id: inbox.inboxId,
  pod_id: "pod_fake",
  client_id: inbox.clientId,
  display_name: inbox.displayName,
  created_at: "2026-11-25T00:00:00Z",
  updated_at: "2026-11-25T00:00:00Z",
})

export const startFakeAgentMail = async (options: { readonly apiKey: string }): Promise<FakeAgentMail> => {
  const inboxes = new Map<string, FakeInbox>()
  const settings = { pageSize: 100, defaultDomain: "agentmail.to" }
  const server = await startFakeHttp({
    token: options.apiKey,
    handle: ({ method, path, query, body }) => {
      if (path === "/v0/inboxes" && method === "POST") {
        const input = (body ?? {}) as { username?: string; domain?: string; display_name?: string; client_id?: string }
        const existing = [...inboxes.values()].find((inbox) => input.client_id !== undefined && inbox.clientId === input.client_id)
        if (existing !== undefined) return { status: 200, body: summary(existing) }
        const inboxId = `${input.username ?? fakeId("inbox")}@${input.domain ?? settings.defaultDomain}`.toLowerCase()
        if (inboxes.has(inboxId)) return { status: 409, body: { name: "AlreadyExistsError", message: "Inbox already exists" } }
        const inbox: FakeInbox = { inboxId, clientId: input.client_id ?? null, displayName: input.display_name ?? null, messages: [] }
        inboxes.set(inboxId, inbox)
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
          return { status: 200 }
        }
        if (match[3] !== undefined && method === "POST") {
          const input = (body ?? {}) as { to?: string | Array<string>; subject?: string; text?: string }
          const to = typeof input.to === "string" ? [input.to] : input.to ?? []
          if (to.length === 0) return { status: 400, body: { name: "ValidationError", message: "to is required" } }
          const message: FakeEmail = {
            message_id: `<${fakeId("msg")}@agentmail.to>`,
            thread_id: fakeId("thread"),
            from: inbox.inboxId,
            to,
            subject: input.subject ?? null,
            text: input.text ?? null,
            preview: input.text?.slice(0, 100) ?? null,
            timestamp: new Date().toISOString(),
            labels: ["sent"],
          }
          inbox.messages.unshift(message)
          return { status: 200, body: { message_id: message.message_id, thread_id: message.thread_id } }
        }
        if (match[2] !== undefined && match[3] === undefined && method === "GET") {
          const limit = Number(query.get("limit") ?? 20)
          const page = inbox.messages.slice(0, limit)
          return { status: 200, body: { count: page.length, limit, messages: page } }
        }
      }
      return { status: 404, body: { name: "NotFoundError", message: `no route ${method} ${path}` } }
    },
  })
  return Object.assign(server, {
    apiUrl: server.url,
    inboxes,
    settings,
    deliver: (inboxId: string, message: { from: string; subject: string; text: string }) => {
      const inbox = inboxes.get(inboxId)
      if (inbox === undefined) throw new Error(`fake agentmail: no inbox ${inboxId}`)
      inbox.messages.unshift({
        message_id: `<${fakeId("msg")}@example.com>`,
        thread_id: fakeId("thread"),
        from: message.from,
        to: [inboxId],
        subject: message.subject,
        text: message.text,
        preview: message.text.slice(0, 100),
        timestamp: new Date().toISOString(),
        labels: ["received"],
      })
    },
  })
}
