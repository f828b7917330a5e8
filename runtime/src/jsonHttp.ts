/** The little HTTP both of the supervisor's servers need: a size-capped body read and a JSON answer. */
import { createHash, timingSafeEqual } from "node:crypto"
import type { IncomingMessage, ServerResponse } from "node:http"

/** As the pool's own limit on request bodies. */
export const MAX_BODY = 64 * 1024

const digest = (value: string) => createHash("sha256").update(value).digest()

/** Constant-time `Authorization: Bearer <token>` check (digests, so neither content nor length leaks). */
export const bearerMatches = (header: string | undefined, token: string): boolean =>
  header !== undefined && header.startsWith("Bearer ") && timingSafeEqual(digest(header.slice(7)), digest(token))

/** The request body as text, or the status and error to answer when it is too large or unreadable. */
export const readBody = (req: IncomingMessage): Promise<{ readonly text: string } | { readonly status: 400 | 413; readonly error: string }> =>
  new Promise((resolve) => {
    const parts: Array<Buffer> = []
    let size = 0
    req.on("data", (part: Buffer) => {
      size += part.length
      if (size <= MAX_BODY) parts.push(part)
    })
    req.on("end", () =>
      resolve(size > MAX_BODY ? { status: 413, error: `body larger than ${MAX_BODY} bytes` } : { text: Buffer.concat(parts).toString("utf8") }))
    req.on("error", () => resolve({ status: 400, error: "could not read the body" }))
  })

export const sendJson = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" })
  res.end(JSON.stringify(body))
}
