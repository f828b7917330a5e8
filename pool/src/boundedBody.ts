import { Effect, Stream } from "effect"

/**
 * Reading an answer from something the pool does not control (an instance, a host, a provider) with a size cap: a
 * peer that streams a huge body would otherwise grow the pool's memory without bound (a 100 MB `/pool/health` body
 * took a pool from 178 to ~600 MB). The time limit is the caller's (an abort signal, or `Effect.timeout`), and it
 * covers the body as well as the headers.
 */
export class BodyTooLarge extends Error {
  readonly _tag = "BodyTooLarge"
  constructor(readonly maxBytes: number) {
    super(`the answer is larger than ${maxBytes} bytes`)
    this.name = "BodyTooLarge"
  }
}

/** Answers of the host/slot contract are small JSON objects (a 32-slot host's health is a few KiB). */
export const contractBodyMaxBytes = 1024 * 1024
/** Provider answers (a page of keys, an inbox, a number order) stay well under this. */
export const providerBodyMaxBytes = 4 * 1024 * 1024

const decoder = () => new TextDecoder("utf-8")

/** A fetch `Response`'s body as text, refused (and the download cancelled) once it passes `maxBytes`. */
export const readCappedText = async (response: Response, maxBytes: number): Promise<string> => {
  const declared = Number(response.headers.get("content-length") ?? "0")
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => {})
    throw new BodyTooLarge(maxBytes)
  }
  if (response.body === null) return ""
  const reader = response.body.getReader()
  const text = decoder()
  let size = 0
  let out = ""
  while (true) {
    const { done, value } = await reader.read()
    if (done) return out + text.decode()
    size += value.byteLength
    if (size > maxBytes) {
      await reader.cancel().catch(() => {})
      throw new BodyTooLarge(maxBytes)
    }
    out += text.decode(value, { stream: true })
  }
}

/** The same for an Effect HTTP client's response stream. */
export const cappedText = <E>(
  body: Stream.Stream<Uint8Array, E>,
  maxBytes: number,
): Effect.Effect<string, E | BodyTooLarge> =>
  Effect.suspend(() => {
    const text = decoder()
    return Stream.runFoldEffect(
      body,
      () => ({ size: 0, out: "" }),
      (acc, chunk) => {
        const size = acc.size + chunk.byteLength
        return size > maxBytes
          ? Effect.fail(new BodyTooLarge(maxBytes))
          : Effect.succeed({ size, out: acc.out + text.decode(chunk, { stream: true }) })
      },
    ).pipe(Effect.map((acc) => acc.out + text.decode()))
  })
