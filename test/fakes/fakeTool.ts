import { Effect, Option, Redacted } from "effect"
import { type ToolProvider, ToolError } from "../../pool/src/resources/ToolProvider.ts"

/**
 * An in-memory tool provider that behaves like a real one (resources named after the instance, idempotent release)
 * and fails on demand, so tests can prove that nothing is leaked.
 */
export const makeFakeTool = (tool: string, envKey: string) => {
  const live = new Map<string, string>() // resourceId → instanceId
  let counter = 0
  const faults = { failCreate: false, failRelease: false, loseCreateResponse: false }
  const provider: ToolProvider = {
    tool,
    envKeys: [envKey],
    create: (instanceId) =>
      Effect.suspend(() => {
        if (faults.failCreate) return Effect.fail(new ToolError({ tool, operation: "create", message: "injected", retryable: true }))
        const resourceId = `${tool}-${++counter}`
        live.set(resourceId, instanceId)
        if (faults.loseCreateResponse) {
          // The provider created it, but the answer never arrived.
          return Effect.fail(new ToolError({ tool, operation: "create", message: "timed out", retryable: true }))
        }
        return Effect.succeed({ resourceId, env: { [envKey]: Redacted.make(`secret-${resourceId}`) }, meta: { limit: 20 } })
      }),
    release: (_instanceId, resourceId) =>
      Effect.suspend(() => {
        if (faults.failRelease) return Effect.fail(new ToolError({ tool, operation: "release", message: "injected", retryable: true }))
        live.delete(resourceId)
        return Effect.void
      }),
    find: (instanceId) =>
      Effect.sync(() => Option.fromNullishOr([...live.entries()].find(([, owner]) => owner === instanceId)?.[0])),
  }
  return { provider, live, faults }
}
