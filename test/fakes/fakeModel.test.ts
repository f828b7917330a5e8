import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type FakeModel, startFakeModel } from "./fakeModel.ts"

describe("fake OpenAI-compatible model", () => {
  let model: FakeModel
  let client: OpenAI
  beforeAll(async () => {
    model = await startFakeModel()
    client = new OpenAI({ baseURL: model.baseUrl, apiKey: "sk-local" })
  })
  afterAll(() => model.stop())

  it("answers a non-streaming request with the scripted text and records the body", async () => {
    model.setScript((req) => (req.userText.includes("PING-7") ? "PONG-7" : "no cue"))
    const before = model.requests.length
    const completion = await client.chat.completions.create({
      model: "fake-model",
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: "hello PING-7" },
        { role: "user", content: "internal context" },
      ],
    })
    expect(completion.choices[0]?.message.content).toBe("PONG-7")
    const recorded = model.requests[before]
    expect(recorded?.systemText).toBe("be brief")
    expect(recorded?.lastUserText).toBe("internal context")
    expect(recorded?.body.messages).toHaveLength(3)
    // The key the client used, so tests can tell which agent's key a call carried.
    expect(recorded?.authorization).toBe("Bearer sk-local")
  })

  it("streams a long reply as several SSE deltas that assemble to the scripted text", async () => {
    const text = "A streamed reply that is long enough to need several deltas."
    model.setScript(() => text)
    const stream = await client.chat.completions.create({
      model: "fake-model",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "stream please" }],
    })
    const deltas: Array<string> = []
    let sawUsage = false
    for await (const chunk of stream) {
      const piece = chunk.choices[0]?.delta.content
      if (piece) deltas.push(piece)
      if (chunk.usage) sawUsage = true
    }
    expect(deltas.length).toBeGreaterThan(1)
    expect(deltas.join("")).toBe(text)
    expect(sawUsage).toBe(true)
  })

  it("returns scripted tool calls, streamed and not, and sees the tool results on the next request", async () => {
    model.setScript((req) =>
      req.toolResults.length > 0
        ? `tool said ${req.toolResults[0]?.content ?? ""}`
        : { toolCalls: [{ name: "lookup", arguments: { city: "Paris" } }] },
    )
    const tools = [{ type: "function" as const, function: { name: "lookup", parameters: { type: "object" } } }]
    const first = await client.chat.completions.create({ model: "fake-model", tools, messages: [{ role: "user", content: "weather?" }] })
    const call = first.choices[0]?.message.tool_calls?.[0]
    expect(first.choices[0]?.finish_reason).toBe("tool_calls")
    expect(call?.type === "function" ? JSON.parse(call.function.arguments) : undefined).toEqual({ city: "Paris" })

    const streamed = await client.chat.completions.create({
      model: "fake-model",
      tools,
      stream: true,
      messages: [{ role: "user", content: "weather?" }],
    })
    let name = ""
    let args = ""
    for await (const chunk of streamed) {
      for (const tc of chunk.choices[0]?.delta.tool_calls ?? []) {
        name += tc.function?.name ?? ""
        args += tc.function?.arguments ?? ""
      }
    }
    expect(name).toBe("lookup")
    expect(JSON.parse(args)).toEqual({ city: "Paris" })

    const second = await client.chat.completions.create({
      model: "fake-model",
      messages: [
        { role: "user", content: "weather?" },
        { role: "assistant", content: null, tool_calls: call ? [call] : [] },
        { role: "tool", tool_call_id: call?.id ?? "", content: "sunny" },
      ],
    })
    expect(second.choices[0]?.message.content).toBe("tool said sunny")
  })

  it("answers a scripted error status and a throwing script as HTTP errors", async () => {
    model.setScript(() => ({ status: 429, text: "slow down" }))
    await expect(
      client.chat.completions.create({ model: "fake-model", messages: [{ role: "user", content: "x" }] }, { maxRetries: 0 }),
    ).rejects.toMatchObject({ status: 429 })
    model.setScript(() => {
      throw new Error("script broke")
    })
    await expect(
      client.chat.completions.create({ model: "fake-model", messages: [{ role: "user", content: "x" }] }, { maxRetries: 0 }),
    ).rejects.toMatchObject({ status: 500 })
  })

  it("lists its model on /v1/models", async () => {
    const list = await client.models.list()
    expect(list.data.map((m) => m.id)).toEqual(["fake-model"])
  })

  it("answers perplexity/sonar as OpenRouter does: the answer with its citations, top level and as annotations", async () => {
    model.setScript((req) => (req.model === "perplexity/sonar" ? { text: "Ferries leave at 9 [1].", citations: ["https://ferry.example/timetable"] } : "no"))
    const response = await fetch(`${model.baseUrl}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer sk-or-agent" },
      body: JSON.stringify({ model: "perplexity/sonar", messages: [{ role: "user", content: "ferry timetable" }] }),
    })
    const body = (await response.json()) as { citations: Array<string>; choices: Array<{ message: { content: string; annotations: Array<{ url_citation: { url: string } }> } }> }
    expect(body.citations).toEqual(["https://ferry.example/timetable"])
    expect(body.choices[0]?.message.content).toBe("Ferries leave at 9 [1].")
    expect(body.choices[0]?.message.annotations.map((a) => a.url_citation.url)).toEqual(["https://ferry.example/timetable"])
  })
})
