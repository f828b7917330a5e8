/**
 * Turns a chat message into one intent: the model when one is configured, the rules otherwise or when the model
 * fails (timeout, HTTP error, malformed tool call). Never fails: the worst case is the rule-based answer.
 */
import { Config, Context, Duration, Effect, Layer, Option, Redacted, Schedule, Schema } from "effect"
import type { Intent, MessageContext, TemplateInfo } from "./Intent.ts"
import { makeModelClient, type ModelSettings } from "./model.ts"
import { isAddressed, isBareHelp, parseByRules } from "./rules.ts"
import { TemplateCatalog } from "./TemplateCatalog.ts"

export interface ParsedIntent {
  readonly intent: Intent
  /** `rules-fallback`: a model is configured but its proposal could not be used. */
  readonly source: "model" | "rules" | "rules-fallback"
  /** The message was addressed to the manager (DM, mention or reply). */
  readonly addressed: boolean
}

export class ModelIntentError extends Schema.TaggedError<ModelIntentError>()("ModelIntentError", {
  reason: Schema.Literals(["timeout", "request_failed", "no_tool_call", "unknown_tool", "invalid_arguments", "not_in_message"]),
  detail: Schema.String,
}) {}

export interface ModelOptions extends ModelSettings {
  readonly timeout: Duration.Duration
  readonly retries: number
}

/** `MANAGER_MODEL` switches the model path on; without it the manager runs on rules alone. */
export const ModelConfig: Config.Config<Option.Option<ModelOptions>> = Config.all({
  model: Config.option(Config.String("MANAGER_MODEL")),
  baseUrl: Config.String("MANAGER_MODEL_BASE_URL").pipe(
    Config.orElse(() => Config.String("OPENAI_BASE_URL")),
    Config.withDefault("https://api.openai.com/v1"),
  ),
  apiKey: Config.Redacted("MANAGER_MODEL_API_KEY").pipe(
    Config.orElse(() => Config.Redacted("OPENAI_API_KEY")),
    Config.withDefault(Redacted.make("")),
  ),
  timeout: Config.Duration("MANAGER_MODEL_TIMEOUT").pipe(Config.withDefault(Duration.seconds(6))),
  retries: Config.Int("MANAGER_MODEL_RETRIES").pipe(Config.withDefault(1)),
}).pipe(
  Config.map(({ model, apiKey, ...rest }) =>
    Option.map(model, (name) => ({ ...rest, model: name, apiKey })),
  ),
)

/** The manager never acts on a link the user did not write: a join URL must appear verbatim in the message. */
export const proposalProblem = (intent: Intent, text: string): string | undefined =>
  intent.kind === "join" && !text.includes(intent.inviteUrl) ? "join URL is not in the message" : undefined

export class IntentParser extends Context.Service<
  IntentParser,
  {
    parse(text: string, ctx: MessageContext): Effect.Effect<ParsedIntent>
    readonly usesModel: boolean
  }
>()("manager-agent/IntentParser") {
  static readonly make = Effect.fnUntraced(function* (model: Option.Option<ModelOptions>) {
    const catalog = yield* TemplateCatalog
    const ask = Option.map(model, (options) => ({ options, call: makeModelClient(options) }))

    const viaModel = Effect.fn("IntentParser.viaModel")(function* (
      m: { readonly options: ModelOptions; readonly call: ReturnType<typeof makeModelClient> },
      text: string,
      ctx: MessageContext,
      addressed: boolean,
      templates: ReadonlyArray<TemplateInfo>,
    ) {
      const attempt = Effect.tryPromise({
        try: (signal) => m.call(text, ctx, templates, addressed, signal),
        catch: (cause) => new ModelIntentError({ reason: "request_failed", detail: String(cause).slice(0, 300) }),
      }).pipe(
        Effect.timeoutOrElse({
          duration: m.options.timeout,
          orElse: () => Effect.fail(new ModelIntentError({ reason: "timeout", detail: `no answer in ${Duration.format(m.options.timeout)}` })),
        }),
        Effect.flatMap((result) =>
          result.ok
            ? Effect.succeed(result.intent)
            : Effect.fail(new ModelIntentError({ reason: result.failure.reason, detail: result.failure.detail })),
        ),
        Effect.flatMap((intent) => {
          const problem = proposalProblem(intent, text)
          return problem ? Effect.fail(new ModelIntentError({ reason: "not_in_message", detail: problem })) : Effect.succeed(intent)
        }),
      )
      return yield* attempt.pipe(Effect.retry({ schedule: modelRetry, times: m.options.retries }))
    })

    const parse = Effect.fn("IntentParser.parse")(function* (text: string, ctx: MessageContext) {
      const addressed = isAddressed(text, ctx)
      const templates = yield* catalog.templates
      const rules = parseByRules(text, ctx, templates)
      if (Option.isNone(ask)) return { intent: rules, source: "rules", addressed } satisfies ParsedIntent
      // Ordinary group chatter never goes to the model: only messages addressed to us or that look like commands.
      // Nor does a bare "help" / "/help" / "?": it is answered wherever we are, which a model told to ignore
      // unaddressed group messages would not do.
      if ((!addressed && rules.kind === "none") || isBareHelp(text, ctx)) {
        return { intent: rules, source: "rules", addressed } satisfies ParsedIntent
      }
      return yield* viaModel(ask.value, text, ctx, addressed, templates).pipe(
        Effect.map((intent): ParsedIntent => ({ intent, source: "model", addressed })),
        Effect.catch((error) =>
          Effect.logWarning("model intent unusable, using the rules", { reason: error.reason, detail: error.detail }).pipe(
            Effect.as<ParsedIntent>({ intent: rules, source: "rules-fallback", addressed }),
          ),
        ),
      )
    })

    return IntentParser.of({ parse, usesModel: Option.isSome(ask) })
  })

  static readonly layer = Layer.effect(IntentParser, Effect.flatMap(ModelConfig, IntentParser.make))

  static readonly layerRulesOnly = Layer.effect(IntentParser, IntentParser.make(Option.none()))
}

/** One quick retry: a model call that failed twice in a row is answered by the rules instead. */
const modelRetry = Schedule.spaced(Duration.millis(150))
