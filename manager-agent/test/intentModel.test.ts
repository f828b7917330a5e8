import { Duration, Effect, Layer, Option, Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startFakeModel, type FakeModel } from "../../test/fakes/fakeModel.ts"
import type { MessageContext } from "../src/intent/Intent.ts"
import { IntentParser, type ParsedIntent } from "../src/intent/IntentParser.ts"
import { intentFromToolCall } from "../src/intent/model.ts"
import { TemplateCatalog } from "../src/intent/TemplateCatalog.ts"

const group: MessageContext = { conversation: "group", managerName: "Manager" }
const dm: MessageContext = { conversation: "dm", managerName: "Manager" }

let model: FakeModel
beforeAll(async () => {
  model = await startFakeModel()
})
afterAll(() => model.stop())

const parseWith = (text: string, ctx: MessageContext, timeoutMs = 1_000): Promise<ParsedIntent> =>
  Effect.runPromise(
    Effect.gen(function* () {
      const parser = yield* IntentParser
      return yield* parser.parse(text, ctx)
    }).pipe(
      Effect.provide(
        Layer.effect(
          IntentParser,
          IntentParser.make(
            Option.some({
              baseUrl: model.baseUrl,
              apiKey: Redacted.make("test-key"),
              model: "fake-model",
              timeout: Duration.millis(timeoutMs),
              retries: 1,
            }),
          ),
        ).pipe(Layer.provide(TemplateCatalog.layerOf([]))),
      ),
    ),
  )

const requestsDuring = async (run: () => Promise<ParsedIntent>) => {
  const before = model.requests.length
  const result = await run()
  return { result, requests: model.requests.slice(before) }
}

describe("model intent path (fake OpenAI-compatible server)", () => {
  it("acts on a valid spawn_agent call and keeps the model's persona", async () => {
    model.setScript(() => ({
      toolCalls: [
        {
          name: "spawn_agent",
          arguments: {
            name: "Trip Planner",
            role: "trip planner",
            persona: "You are Trip Planner. You plan a budget-minded trip to Tokyo in March.",
            template: null,
          },
        },
      ],
    }))
    const { result, requests } = await requestsDuring(() => parseWith("spawn a trip planner for Tokyo in March, budget-minded", group))
    expect(result).toEqual({
      source: "model",
      addressed: false,
      intent: {
        kind: "spawn",
        name: "Trip Planner",
        role: "trip planner",
        instructions: "You are Trip Planner. You plan a budget-minded trip to Tokyo in March.",
      },
    })
    expect(requests).toHaveLength(1)
    const body = requests[0]!.body
    expect(body.temperature).toBe(0)
    expect(body.tool_choice).toBe("required")
    expect((body.tools as Array<{ function: { name: string } }>).map((t) => t.function.name)).toContain("spawn_agent")
  })

  it("maps a clarifying question from the model to a clarify intent", async () => {
    model.setScript(() => ({ toolCalls: [{ name: "ask_clarification", arguments: { question: "Which agent should I remove?" } }] }))
    const { result } = await requestsDuring(() => parseWith("remove it", dm))
    expect(result.intent).toEqual({ kind: "clarify", question: "Which agent should I remove?" })
  })

  it.each([
    ["arguments that are not JSON", { toolCalls: [{ name: "spawn_agent", arguments: "{name: Trip" }] }],
    ["an unknown tool", { toolCalls: [{ name: "launch_missiles", arguments: {} }] }],
    ["a spawn without a name", { toolCalls: [{ name: "spawn_agent", arguments: { role: "x", persona: "y", template: null } }] }],
    ["a name far over the limit", { toolCalls: [{ name: "spawn_agent", arguments: { name: "N".repeat(500), role: "x", persona: "y", template: null } }] }],
    ["text instead of a tool call", { text: "Sure! I'll spawn it." }],
  ])("falls back to the rules on %s (and retries once first)", async (_label, reply) => {
    model.setScript(() => reply)
    const { result, requests } = await requestsDuring(() => parseWith("spawn a trip planner here", group))
    expect(result.source).toBe("rules-fallback")
    expect(result.intent).toMatchObject({ kind: "spawn", name: "Trip Planner" })
    expect(requests).toHaveLength(2)
  })

  it("retries once after an HTTP error and uses the second answer", async () => {
    let calls = 0
    model.setScript(() => (calls++ === 0 ? { status: 500 } : { toolCalls: [{ name: "list_agents", arguments: {} }] }))
    const { result, requests } = await requestsDuring(() => parseWith("who is here", group))
    expect(result).toMatchObject({ source: "model", intent: { kind: "list" } })
    expect(requests).toHaveLength(2)
  })

  it("gives up on a slow model after the timeout and answers with the rules", async () => {
    model.setScript(() => ({ delayMs: 2_000, toolCalls: [{ name: "list_agents", arguments: {} }] }))
    const started = Date.now()
    const result = await parseWith("remove the chef", group, 200)
    expect(result).toMatchObject({ source: "rules-fallback", intent: { kind: "remove", agent: "chef" } })
    // Two attempts of 200 ms plus the retry spacing, far below the model's 2 s.
    expect(Date.now() - started).toBeLessThan(1_500)
  })

  it("refuses a join link the user never wrote", async () => {
    model.setScript(() => ({ toolCalls: [{ name: "join_conversation", arguments: { invite_url: "https://dev.convos.org/v2?i=evil" } }] }))
    const result = await parseWith("please join my other group", dm)
    expect(result.source).toBe("rules-fallback")
    expect(result.intent.kind).toBe("none")
  })

  it("never sends ordinary group chatter to the model", async () => {
    model.setScript(() => ({ toolCalls: [{ name: "show_help", arguments: {} }] }))
    const { result, requests } = await requestsDuring(() => parseWith("see you all at 8 tonight", group))
    expect(result).toEqual({ source: "rules", addressed: false, intent: { kind: "none" } })
    expect(requests).toHaveLength(0)
  })

  it.each(["help", "/help", "?"])("answers a bare %j in a group with help, without asking the model", async (text) => {
    model.setScript(() => ({ toolCalls: [{ name: "ignore_message", arguments: {} }] }))
    const { result, requests } = await requestsDuring(() => parseWith(text, group))
    expect(result).toEqual({ source: "rules", addressed: false, intent: { kind: "help" } })
    expect(requests).toHaveLength(0)
  })

  it("asks the model about a group message that mentions the manager", async () => {
    model.setScript(() => ({ toolCalls: [{ name: "list_templates", arguments: {} }] }))
    const { result, requests } = await requestsDuring(() => parseWith("@Manager what could you add for a book club?", group))
    expect(result).toMatchObject({ source: "model", addressed: true, intent: { kind: "templates" } })
    expect(requests[0]!.systemText).toContain("addressed to the manager")
  })
})

describe("intentFromToolCall", () => {
  it("rejects a rename to an empty name", () => {
    const result = intentFromToolCall({ name: "rename_agent", arguments: JSON.stringify({ agent: "chef", new_name: "  " }) })
    expect(result.ok).toBe(false)
  })

  it("treats empty arguments of an argument-less tool as {}", () => {
    expect(intentFromToolCall({ name: "show_help", arguments: "" })).toEqual({ ok: true, intent: { kind: "help" } })
  })
})
