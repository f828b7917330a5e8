import { ByteSize, Effect, Schema, SchemaIssue } from "effect"
import { HttpIncomingMessage, type HttpServerRequest } from "effect/http"
import { InvalidRequest } from "../domain/errors.ts"

/** Request bodies are small JSON objects; anything larger is refused before it is read. */
export const maxBodyBytes = 64 * 1024

const formatIssue = SchemaIssue.makeFormatterStandardSchemaV1()

/** One readable sentence from a schema failure: which field, and what was wrong with it. */
export const describeSchemaError = (error: Schema.SchemaError): string => {
  const issues = formatIssue(error.issue).issues
  const first = issues[0]
  if (!first) return "Invalid request body"
  const path = (first.path ?? []).map((p) => String(typeof p === "object" ? p.key : p)).join(".")
  if (/unexpected|excess/i.test(first.message)) return `Unknown field: ${path || "(root)"}`
  if (/missing/i.test(first.message)) return `Missing field: ${path}`
  return path ? `Invalid ${path}: ${first.message}` : `Invalid request body: ${first.message}`
}

/**
 * Reads and validates a JSON body: size limit, JSON syntax, exact shape (unknown fields are an error, so a typo in a
 * field name is reported instead of silently ignored). Every failure is an `InvalidRequest` with a clear message.
 */
export const readJsonBody = <S extends Schema.Top & { readonly DecodingServices: never }>(
  request: HttpServerRequest.HttpServerRequest,
  schema: S,
  options: { readonly allowEmpty?: boolean } = {},
): Effect.Effect<S["Type"], InvalidRequest> =>
  Effect.gen(function*() {
    const declared = Number(request.headers["content-length"] ?? "0")
    if (declared > maxBodyBytes) {
      return yield* new InvalidRequest({ error: `Request body is too large (at most ${maxBodyBytes / 1024} KiB)` })
    }
    const text = yield* request.text.pipe(
      Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(maxBodyBytes)),
      Effect.mapError(() => new InvalidRequest({ error: `Request body is too large or unreadable (at most ${maxBodyBytes / 1024} KiB)` })),
    )
    if (text.length > maxBodyBytes) {
      return yield* new InvalidRequest({ error: `Request body is too large (at most ${maxBodyBytes / 1024} KiB)` })
    }
    let json: unknown
    if (text.trim() === "") {
      if (!options.allowEmpty) return yield* new InvalidRequest({ error: "Request body must be a JSON object" })
      json = {}
    } else {
      try {
        json = JSON.parse(text)
      } catch {
        return yield* new InvalidRequest({ error: "Request body is not valid JSON" })
      }
    }
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      return yield* new InvalidRequest({ error: "Request body must be a JSON object" })
    }
    return yield* Schema.decodeUnknownEffect(schema)(json, { onExcessProperty: "error", errors: "first" }).pipe(
      Effect.mapError((error) => new InvalidRequest({ error: describeSchemaError(error) })),
    )
  })
