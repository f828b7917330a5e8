import { Layer } from "effect"
import { ToolProviders } from "./ToolProvider.ts"
import { ToolProxy } from "./ToolProxy.ts"

/** No per-agent resources: the default when no provider master key is configured. */
export const NoToolProviders = Layer.succeed(ToolProviders, ToolProviders.of([]))

/** No providers at all: tool routes answer "not set up on this pool". */
export const NoResources = Layer.mergeAll(NoToolProviders, ToolProxy.layerWith({ emailsPerHour: 30, smsPerHour: 30 }))
