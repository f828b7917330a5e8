/**
 * The model path: one chat completion at temperature 0 where the model must call exactly one tool. The tools are
 * zod schemas; the call is validated with the same schemas and then as an `Intent`. The model only proposes: a
 * malformed or missing call is an error the caller answers with the rule-based parser.
 */
import { Redacted } from "effect"
import OpenAI from "openai"
import { zodFunction } from "openai/helpers/zod"
import { z } from "zod"
import { Intent, MAX_AGENT_NAME, MAX_INSTRUCTIONS, type MessageContext, type TemplateInfo } from "./Intent.ts"

const tools = {
  spawn_agent: z.object({
    name: z.string().describe(`Display name of the new agent, 1-3 words, at most ${MAX_AGENT_NAME} characters, e.g. "Trip Planner"`),
    role: z.string().describe('What the agent is, in a few words, e.g. "trip planner"'),
    persona: z
      .string()
      .describe(
        "System prompt for the new agent, 2-4 sentences in the second person (\"You are …\"), built from every detail of the request (place, dates, tone, budget).",
      ),
    template: z.string().nullable().describe("Slug of the matching catalog template, or null"),
  }),
  list_agents: z.object({}),
  remove_agent: z.object({ agent: z.string().describe("Name or role of the agent to remove, as the user wrote it") }),
  rename_agent: z.object({ agent: z.string(), new_name: z.string() }),
  instruct_agent: z.object({
    agent: z.string(),
    instructions: z.string().describe("The new or additional instructions for that agent"),
  }),
  join_conversation: z.object({ invite_url: z.string().describe("The Convos invite link, exactly as written") }),
  list_templates: z.object({}),
  show_help: z.object({}),
  ask_clarification: z.object({ question: z.string().describe("One short question that resolves the ambiguity") }),
  ignore_message: z.object({}),
} as const
type ToolName = keyof typeof tools

const descriptions: Record<ToolName, string> = {
  spawn_agent: "Add a new AI agent (spawn, add, create, summon, bring, get, invite, make an agent/bot/assistant).",
  list_agents: "List the agents spawned in this conversation (who is here).",
  remove_agent: "Remove an agent from this conversation and destroy it (remove, kick, stop, fire).",
  rename_agent: "Give an agent of this conversation a new display name.",
  instruct_agent: "Change what an agent of this conversation does or how it behaves.",
  join_conversation: "Join another Convos conversation from its invite link.",
  list_templates: "Show the catalog of ready-made agents.",
  show_help: "Explain what the manager can do.",
  ask_clarification: "The message is addressed to the manager but it is unclear what is wanted.",
  ignore_message: "Ordinary chatter between people, not a request to the manager.",
}

export const intentTools = (Object.keys(tools) as Array<ToolName>).map((name) =>
  zodFunction({ name, parameters: tools[name], description: descriptions[name] }),
)

export const systemPrompt = (ctx: MessageContext, templates: ReadonlyArray<TemplateInfo>, addressed: boolean) =>
  [
    `You are the intent parser of "${ctx.managerName}", a bot in an end-to-end encrypted Convos chat that spawns and manages AI agents.`,
    "Call exactly one tool for the user's message. Never answer with text.",
    ctx.conversation === "dm"
      ? "This is a direct conversation with the manager: every message is addressed to it."
      : addressed
        ? "This group message is addressed to the manager."
        : "This is a group message not explicitly addressed to the manager: unless it is an obvious command about agents, call ignore_message.",
    ctx.knownAgents && ctx.knownAgents.length > 0 ? `Agents already in this conversation: ${ctx.knownAgents.join(", ")}.` : "",
    templates.length > 0 ? `Catalog templates (slug: name): ${templates.map((t) => `${t.slug}: ${t.name}`).join("; ")}.` : "",
  ]
    .filter((line) => line.length > 0)
    .join("\n")

/** Why the model's proposal could not be used. `detail` is for logs only, never for chat. */
export type ModelFailure =
  | { readonly reason: "no_tool_call"; readonly detail: string }
  | { readonly reason: "unknown_tool"; readonly detail: string }
  | { readonly reason: "invalid_arguments"; readonly detail: string }

/**
 * Maps one tool call to an intent, validating the arguments with the tool's zod schema and the result with
 * `Intent`. Pure: the heart of "the model only proposes".
 */
export const intentFromToolCall = (
  call: { readonly name: string; readonly arguments: string } | undefined,
): { readonly ok: true; readonly intent: Intent } | { readonly ok: false; readonly failure: ModelFailure } => {
  if (!call) return { ok: false, failure: { reason: "no_tool_call", detail: "the model answered without a tool call" } }
  if (!Object.hasOwn(tools, call.name)) {
    return { ok: false, failure: { reason: "unknown_tool", detail: `unknown tool ${JSON.stringify(call.name.slice(0, 60))}` } }
  }
  const name = call.name as ToolName
  let raw: unknown
  try {
    raw = call.arguments.trim() === "" ? {} : JSON.parse(call.arguments)
  } catch {
    return { ok: false, failure: { reason: "invalid_arguments", detail: `${name}: arguments are not JSON` } }
  }
  const args = tools[name].safeParse(raw)
  if (!args.success) {
    return { ok: false, failure: { reason: "invalid_arguments", detail: `${name}: ${z.prettifyError(args.error).slice(0, 300)}` } }
  }
  const candidate = toIntent(name, args.data)
  const intent = Intent.safeParse(candidate)
  if (!intent.success) {
    return { ok: false, failure: { reason: "invalid_arguments", detail: `${name}: ${z.prettifyError(intent.error).slice(0, 300)}` } }
  }
  return { ok: true, intent: intent.data }
}

const toIntent = (name: ToolName, data: Record<string, unknown>): unknown => {
  switch (name) {
    case "spawn_agent": {
      const args = data as z.infer<(typeof tools)["spawn_agent"]>
      return {
        kind: "spawn",
        name: args.name,
        role: args.role,
        instructions: args.persona.slice(0, MAX_INSTRUCTIONS),
        ...(args.template ? { template: args.template } : {}),
      }
    }
    case "list_agents":
      return { kind: "list" }
    case "remove_agent":
      return { kind: "remove", agent: data.agent }
    case "rename_agent":
      return { kind: "rename", agent: data.agent, newName: data.new_name }
    case "instruct_agent":
      return { kind: "instruct", agent: data.agent, instructions: data.instructions }
    case "join_conversation":
      return { kind: "join", inviteUrl: data.invite_url }
    case "list_templates":
      return { kind: "templates" }
    case "show_help":
      return { kind: "help" }
    case "ask_clarification":
      return { kind: "clarify", question: data.question }
    case "ignore_message":
      return { kind: "none" }
  }
}

export interface ModelSettings {
  readonly baseUrl: string
  /** Kept redacted until the HTTP client is built, so no log or error of ours can print it. */
  readonly apiKey: Redacted.Redacted<string>
  readonly model: string
}

/** One request to the model; transport errors and aborts reject, a bad proposal resolves as a failure. */
export const makeModelClient = (settings: ModelSettings) => {
  // Retries and timeouts are ours (Effect schedules around this call), so the SDK does neither.
  const client = new OpenAI({
    baseURL: settings.baseUrl,
    apiKey: Redacted.value(settings.apiKey) || "unset",
    maxRetries: 0,
    timeout: 60_000,
  })
  return async (
    text: string,
    ctx: MessageContext,
    templates: ReadonlyArray<TemplateInfo>,
    addressed: boolean,
    signal: AbortSignal,
  ): Promise<ReturnType<typeof intentFromToolCall>> => {
    const completion = await client.chat.completions.create(
      {
        model: settings.model,
        temperature: 0,
        messages: [
          { role: "system", content: systemPrompt(ctx, templates, addressed) },
          { role: "user", content: text },
        ],
        tools: intentTools,
        tool_choice: "required",
        parallel_tool_calls: false,
      },
      { signal },
    )
    const call = completion.choices[0]?.message.tool_calls?.find((c) => c.type === "function")
    return intentFromToolCall(call && call.type === "function" ? call.function : undefined)
  }
}
