/**
 * A loopback fake of an OpenAI-compatible model server, for tests and benchmarks. Never touches the internet.
 *
 *   const model = await startFakeModel((req) => req.userText.includes("hi") ? "Hello!" : "ok")
 *   // point a client at model.baseUrl (ends in "/v1"), any API key
 *   model.requests            // every chat request body, in arrival order
 *   model.setScript(...)      // change the replies mid-test
 *   await model.stop()
 *
 * Routes: `POST /v1/chat/completions` (streaming SSE when `stream: true`, JSON otherwise) and `GET /v1/models`.
 * A script is a function of the request returning a reply:
 *   - a string: the assistant's text;
 *   - `{ text?, toolCalls?, delayMs?, status?, citations? }`: text and/or tool calls (`{ name, arguments }`, arguments an
 *     object or a JSON string), an optional delay before answering, an HTTP error status (answered as an OpenAI
 *     error), or source URLs answered as Perplexity Sonar does through OpenRouter (top-level `citations` and the
 *     message's `url_citation` annotations).
 * A script that throws answers 500 with the error message, so a broken script fails the test loudly.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

export interface FakeToolCall {
  readonly name: string
  /** An object (serialised for you) or the raw JSON string the model would emit. */
  readonly arguments: Record<string, unknown> | string
}

export interface FakeReplyObject {
  readonly text?: string
  readonly toolCalls?: ReadonlyArray<FakeToolCall>
  /** Wait this long before answering (simulates model latency). */
  readonly delayMs?: number
  /** Answer with this HTTP error status instead of a completion. */
  readonly status?: number
  /** Source URLs, as `perplexity/sonar` answers carry them. */
  readonly citations?: ReadonlyArray<string>
}

export type FakeReply = string | FakeReplyObject

/** What a script sees: the parsed body plus conveniences. */
export interface FakeModelRequest {
  /** The parsed JSON body as sent by the client. */
  readonly body: ChatCompletionBody
  /** The model id the client asked for. */
  readonly model: string
  /** Whether the client asked for SSE streaming. */
  readonly stream: boolean
  /**
   * The text of every user message joined with newlines. OpenClaw sends the inbound text and its internal context
   * as separate user messages, so cues must be searched across all of them.
   */
  readonly userText: string
  /** The text of the last user message only. */
  readonly lastUserText: string
  /** The system messages' text, joined. */
  readonly systemText: string
  /** Tool results sent back by the client (`role: "tool"` messages), in order. */
  readonly toolResults: ReadonlyArray<{ readonly toolCallId: string; readonly content: string }>
  /** Zero-based index of this request among all chat requests this fake has received. */
  readonly index: number
  /** The request's `Authorization` header (the API key the client used), when it sent one. */
  readonly authorization?: string
}

export type FakeModelScript = (request: FakeModelRequest) => FakeReply | Promise<FakeReply>

export interface ChatMessage {
  readonly role: string
  readonly content?: unknown
  readonly tool_call_id?: string
  readonly [key: string]: unknown
}

export interface ChatCompletionBody {
  readonly model?: string
  readonly messages?: ReadonlyArray<ChatMessage>
  readonly stream?: boolean
  readonly [key: string]: unknown
}

export interface FakeModel {
  /** Base URL including `/v1`, e.g. `http://127.0.0.1:41234/v1`. */
  readonly baseUrl: string
  /** Every chat completion request received, in order (the live array). */
  readonly requests: ReadonlyArray<FakeModelRequest>
  setScript(script: FakeModelScript): void
  stop(): Promise<void>
}

export const FAKE_MODEL_ID = "fake-model"

/** Default script: a fixed, recognisable line. */
export const defaultFakeScript: FakeModelScript = () => "fake model reply"

/** Extracts plain text from an OpenAI message `content` (a string or an array of parts). */
export const messageText = (content: unknown): string => {
  if (typeof content === "string") return content
  if (Array.isArray(content)) {
    return content
      .map((part: unknown) =>
        typeof part === "object" && part !== null && "text" in part && typeof part.text === "string" ? part.text : "",
      )
      .filter((text) => text.length > 0)
      .join("\n")
  }
  return ""
}

export const toFakeModelRequest = (body: ChatCompletionBody, index: number, authorization?: string): FakeModelRequest => {
  const messages = Array.isArray(body.messages) ? body.messages : []
  const userTexts = messages.filter((m) => m.role === "user").map((m) => messageText(m.content))
  return {
    body,
    model: typeof body.model === "string" ? body.model : FAKE_MODEL_ID,
    stream: body.stream === true,
    userText: userTexts.join("\n"),
    lastUserText: userTexts.at(-1) ?? "",
    systemText: messages
      .filter((m) => m.role === "system" || m.role === "developer")
      .map((m) => messageText(m.content))
      .join("\n"),
    toolResults: messages
      .filter((m) => m.role === "tool")
      .map((m) => ({ toolCallId: typeof m.tool_call_id === "string" ? m.tool_call_id : "", content: messageText(m.content) })),
    index,
    ...(authorization === undefined ? {} : { authorization }),
  }
}

const normaliseReply = (reply: FakeReply): FakeReplyObject => (typeof reply === "string" ? { text: reply } : reply)

interface WireToolCall {
  readonly id: string
  readonly type: "function"
  readonly function: { readonly name: string; readonly arguments: string }
}

const toWireToolCalls = (calls: ReadonlyArray<FakeToolCall>, requestIndex: number): Array<WireToolCall> =>
  calls.map((call, i) => ({
    id: `call_${requestIndex}_${i}`,
    type: "function",
    function: {
      name: call.name,
      arguments: typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments),
    },
  }))

const usage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 }

/** The non-streaming `chat.completion` object for a reply. */
export const completionJson = (reply: FakeReplyObject, model: string, id: string, requestIndex: number) => {
  const toolCalls = reply.toolCalls && reply.toolCalls.length > 0 ? toWireToolCalls(reply.toolCalls, requestIndex) : undefined
  const citations = reply.citations ?? []
  const annotations = citations.map((url) => ({ type: "url_citation", url_citation: { url, title: url } }))
  return {
    id,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    ...(citations.length > 0 ? { citations } : {}),
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: reply.text ?? (toolCalls ? null : ""),
          ...(toolCalls ? { tool_calls: toolCalls } : {}),
          ...(annotations.length > 0 ? { annotations } : {}),
        },
        finish_reason: toolCalls ? "tool_calls" : "stop",
      },
    ],
    usage,
  }
}

/** The SSE `chat.completion.chunk` events (without the final `[DONE]`) for a reply. */
export const completionChunks = (
  reply: FakeReplyObject,
  model: string,
  id: string,
  requestIndex: number,
  includeUsage: boolean,
): Array<Record<string, unknown>> => {
  const created = Math.floor(Date.now() / 1000)
  const chunk = (delta: Record<string, unknown>, finishReason: string | null) => ({
    id,
    object: "chat.completion.chunk",
    created,
    model,
    choices: [{ index: 0, delta, finish_reason: finishReason }],
  })
  const chunks: Array<Record<string, unknown>> = [chunk({ role: "assistant", content: "" }, null)]
  const text = reply.text ?? ""
  // A few deltas, so streaming clients really assemble the text.
  const pieces = text.match(/[\s\S]{1,24}/g) ?? []
  for (const piece of pieces) chunks.push(chunk({ content: piece }, null))
  const toolCalls = reply.toolCalls && reply.toolCalls.length > 0 ? toWireToolCalls(reply.toolCalls, requestIndex) : []
  toolCalls.forEach((call, index) => {
    chunks.push(chunk({ tool_calls: [{ index, id: call.id, type: "function", function: { name: call.function.name, arguments: "" } }] }, null))
    chunks.push(chunk({ tool_calls: [{ index, function: { arguments: call.function.arguments } }] }, null))
  })
  chunks.push(chunk({}, toolCalls.length > 0 ? "tool_calls" : "stop"))
  if (includeUsage) chunks.push({ id, object: "chat.completion.chunk", created, model, choices: [], usage })
  return chunks
}

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const parts: Array<Buffer> = []
    req.on("data", (part: Buffer) => parts.push(part))
    req.on("end", () => resolve(Buffer.concat(parts).toString("utf8")))
    req.on("error", reject)
  })

const sendJson = (res: ServerResponse, status: number, value: unknown): void => {
  res.writeHead(status, { "content-type": "application/json" })
  res.end(JSON.stringify(value))
}

const sendError = (res: ServerResponse, status: number, message: string): void =>
  sendJson(res, status, { error: { message, type: "fake_model_error", code: status } })

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export const startFakeModel = async (script: FakeModelScript = defaultFakeScript): Promise<FakeModel> => {
  let current = script
  const requests: Array<FakeModelRequest> = []

  const handleChat = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let body: ChatCompletionBody
    try {
      const parsed: unknown = JSON.parse(await readBody(req))
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("body is not an object")
      body = parsed as ChatCompletionBody
    } catch (error) {
      return sendError(res, 400, `invalid JSON body: ${String(error)}`)
    }
    const request = toFakeModelRequest(body, requests.length, req.headers.authorization)
    requests.push(request)
    let reply: FakeReplyObject
    try {
      reply = normaliseReply(await current(request))
    } catch (error) {
      return sendError(res, 500, `fake model script failed: ${error instanceof Error ? error.message : String(error)}`)
    }
    if (reply.delayMs !== undefined && reply.delayMs > 0) await sleep(reply.delayMs)
    if (reply.status !== undefined && reply.status >= 400) return sendError(res, reply.status, reply.text ?? "scripted error")
    const id = `chatcmpl-fake-${request.index}`
    if (!request.stream) return sendJson(res, 200, completionJson(reply, request.model, id, request.index))
    const streamOptions = body["stream_options"]
    const includeUsage =
      typeof streamOptions === "object" && streamOptions !== null && (streamOptions as { include_usage?: unknown }).include_usage === true
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" })
    for (const chunk of completionChunks(reply, request.model, id, request.index, includeUsage)) {
      res.write(`data: ${JSON.stringify(chunk)}\n\n`)
    }
    res.end("data: [DONE]\n\n")
  }

  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0]
    if (req.method === "POST" && (path === "/v1/chat/completions" || path === "/chat/completions")) {
      handleChat(req, res).catch((error: unknown) => {
        if (!res.headersSent) sendError(res, 500, String(error))
        else res.end()
      })
      return
    }
    if (req.method === "GET" && (path === "/v1/models" || path === "/models")) {
      return sendJson(res, 200, { object: "list", data: [{ id: FAKE_MODEL_ID, object: "model", created: 0, owned_by: "fake" }] })
    }
    sendError(res, 404, `fake model: no route ${req.method ?? "?"} ${path ?? ""}`)
  })
  // Keep-alive sockets must not hold stop() open.
  server.keepAliveTimeout = 1_000

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => resolve())
  })
  const { port } = server.address() as AddressInfo

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    setScript(next) {
      current = next
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
