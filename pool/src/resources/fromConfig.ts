import { Config, Effect, Layer, Option } from "effect"
import { AgentMail } from "./AgentMail.ts"
import { OpenRouter } from "./OpenRouter.ts"
import { Telnyx } from "./Telnyx.ts"
import { ToolProviders } from "./ToolProvider.ts"
import { ToolProxy } from "./ToolProxy.ts"

/** A provider's layer when its master key is set, nothing otherwise. */
const whenConfigured = <I, E, R>(keyVariable: string, layer: Layer.Layer<I, E, R>) =>
  Layer.unwrap(
    Effect.map(Config.option(Config.String(keyVariable)), (key) =>
      Option.isSome(key) && key.value.trim() !== "" ? (layer as Layer.Layer<never, E, R>) : Layer.empty),
  )

/**
 * Telnyx needs its key and a 10DLC campaign; with the key alone SMS stays off and the pool says why once at start
 * (the instance's SMS tool says it too, through `ToolProxy`).
 */
const TelnyxFromConfig = Layer.unwrap(
  Effect.map(Telnyx.offReason, (reason) =>
    reason !== undefined
      ? Layer.effectDiscard(Effect.logWarning(reason))
      : whenConfigured("TELNYX_API_KEY", Telnyx.layer)),
)

/** The tool providers whose master keys are set, in warm-up order: Telnyx (most contended) first. */
const ToolProvidersFromServices = Layer.effect(
  ToolProviders,
  Effect.gen(function*() {
    const telnyx = yield* Effect.serviceOption(Telnyx)
    const openRouter = yield* Effect.serviceOption(OpenRouter)
    const agentMail = yield* Effect.serviceOption(AgentMail)
    return ToolProviders.of([
      ...(Option.isSome(telnyx) ? [telnyx.value.tool] : []),
      ...(Option.isSome(openRouter) ? [openRouter.value.tool] : []),
      ...(Option.isSome(agentMail) ? [agentMail.value.tool] : []),
    ])
  }),
)

/**
 * Per-agent resources from the environment: `TELNYX_API_KEY` (with `TELNYX_10DLC_CAMPAIGN_ID`),
 * `OPENROUTER_MANAGEMENT_KEY`, `AGENTMAIL_API_KEY` each turn on their provider. With none set, agents get no resources (and share `AGENT_MODEL_*` for their model).
 * Also provides the `ToolProxy` the instance tool routes use.
 */
export const ResourcesFromConfig = Layer.mergeAll(ToolProvidersFromServices, ToolProxy.layer).pipe(
  Layer.provideMerge(
    Layer.mergeAll(
      TelnyxFromConfig,
      whenConfigured("OPENROUTER_MANAGEMENT_KEY", OpenRouter.layer),
      whenConfigured("AGENTMAIL_API_KEY", AgentMail.layer),
    ),
  ),
)
