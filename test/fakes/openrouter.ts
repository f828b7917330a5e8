/**
 * A loopback fake of OpenRouter's key management API (`/api/v1`): `POST /keys`, `GET /keys?offset=`, `GET /keys/:hash`,
 * `DELETE /keys/:hash`, `GET /credits`, authenticated by the management key. Keys live in memory; faults come from
 * `inject` (providerHttp.ts), keyed `METHOD /path` with the hash in the path.
 *
 *   const openrouter = await startFakeOpenRouter({ managementKey: "mgmt" })
 *   OPENROUTER_API_URL = openrouter.apiUrl
 *   openrouter.keys            // hash → key
 */
import { type FakeHttpServer, fakeId, startFakeHttp } from "./providerHttp.ts"

export interface FakeOpenRouterKey {
  readonly hash: string
  readonly name: string
  readonly key: string
  limit: number | null
  readonly limitReset: string | null
  usage: number
}

export interface FakeOpenRouter extends FakeHttpServer {
  readonly apiUrl: string
  readonly keys: Map<string, FakeOpenRouterKey>
  readonly settings: { pageSize: number; totalCredits: number }
}

const view = (key: FakeOpenRouterKey) => ({
  hash: key.hash,
  name: key.name,
  label: `${key.key.slice(0, 12)}...`,
  disabled: false,
  limit: key.limit,
  limit_remaining: key.limit === null ? null : key.limit - key.usage,
  limit_reset: key.limitReset,
  usage: key.usage,
  usage_daily: key.usage,
  usage_weekly: key.usage,
  usage_monthly: key.usage,
  byok_usage: 0,
  byok_usage_daily: 0,
  byok_usage_weekly: 0,
  byok_usage_monthly: 0,
  include_byok_in_limit: false,
  creator_user_id: null,
  external_user: null,
  workspace_id: "ws_default",
  created_at: "2026-11-25T00:00:00Z",
  updated_at: null,
})

export const startFakeOpenRouter = async (options: { readonly managementKey: string }): Promise<FakeOpenRouter> => {
  const keys = new Map<string, FakeOpenRouterKey>()
  const settings = { pageSize: 100, totalCredits: 500 }
  const server = await startFakeHttp({
    token: options.managementKey,
    handle: ({ method, path, query, body }) => {
      if (path === "/api/v1/credits" && method === "GET") {
        const used = [...keys.values()].reduce((sum, key) => sum + key.usage, 0)
        return { status: 200, body: { data: { total_credits: settings.totalCredits, total_usage: used } } }
      }
      if (path === "/api/v1/keys" && method === "POST") {
        const input = body as { name?: unknown; limit?: unknown; limit_reset?: unknown } | undefined
        if (typeof input?.name !== "string" || input.name.length === 0) {
          return { status: 400, body: { error: { code: 400, message: "name is required" } } }
        }
        const key: FakeOpenRouterKey = {
          hash: fakeId("hash"),
          name: input.name,
          key: `sk-or-v1-${fakeId("secret")}`,
          limit: typeof input.limit === "number" ? input.limit : null,
          limitReset: typeof input.limit_reset === "string" ? input.limit_reset : null,
          usage: 0,
        }
        keys.set(key.hash, key)
        return { status: 201, body: { data: view(key), key: key.key } }
      }
      if (path === "/api/v1/keys" && method === "GET") {
        const offset = Number(query.get("offset") ?? 0)
        const page = [...keys.values()].slice(offset, offset + settings.pageSize)
        return { status: 200, body: { data: page.map(view) } }
      }
      const match = /^\/api\/v1\/keys\/([^/]+)$/.exec(path)
      if (match !== null) {
        const key = keys.get(decodeURIComponent(match[1]!))
        if (key === undefined) return { status: 404, body: { error: { code: 404, message: "Key not found" } } }
        if (method === "GET") return { status: 200, body: { data: view(key) } }
        if (method === "PATCH") {
          const limit = (body as { limit?: unknown } | undefined)?.limit
          if (limit !== null && typeof limit !== "number") {
            return { status: 400, body: { error: { code: 400, message: "limit must be a number or null" } } }
          }
          key.limit = limit
          return { status: 200, body: { data: view(key) } }
        }
        if (method === "DELETE") {
          keys.delete(key.hash)
          return { status: 200, body: { deleted: true } }
        }
      }
      return { status: 404, body: { error: { code: 404, message: `no route ${method} ${path}` } } }
    },
  })
  return Object.assign(server, { apiUrl: `${server.url}/api/v1`, keys, settings })
}
