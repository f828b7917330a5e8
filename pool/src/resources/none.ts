import { Layer } from "effect"
import { ToolProviders } from "./ToolProvider.ts"

/** No per-agent resources: the default when no provider master key is configured. */
export const NoToolProviders = Layer.succeed(ToolProviders, ToolProviders.of([]))
