import { Effect, Option, Redacted } from "effect"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { type ToolProvider, ToolError } from "../../pool/src/resources/ToolProvider.ts"

/**
 * An in-memory tool provider that behaves like a real one (resources named after the instance, idempotent release)
 * and fails on demand, so tests can prove that nothing is leaked.
 */
export const makeFakeTool = (tool: string, envKey: string, options: { readonly file?: string; readonly createDelayMs?: number } = {}) => {
  // resourceId → instanceId; with `file`, the provider's state survives the process (a pool killed mid-warm-up).
  const live = new Map<string, string>(options.file && existsSync(options.file) ? JSON.parse(readFileSync(options.file, "utf8")) : [])
  const persist = () => options.file && writeFileSync(options.file, JSON.stringify([...live]))
  const reload = () => {
    if (!options.file || !existsSync(options.file)) return
    live.clear()
    for (const [k, v] of JSON.parse(readFileSync(options.file, "utf8")) as Array<[string, string]>) live.set(k, v)
  }
  let counter = 0
  const faults = { failCreate: false, failRelease: false, loseCreateResponse: false, hangCreate: false }
  const provider: ToolProvider = {
    tool,
    envKeys: [envKey],
    create: (instanceId) =>
      Effect.suspend(() => {
        if (faults.failCreate) return Effect.fail(new ToolError({ tool, operation: "create", message: "injected", retryable: true }))
        if (faults.hangCreate) return Effect.never
        reload()
        const resourceId = `${tool}-${instanceId}-${++counter}`
        live.set(resourceId, instanceId)
        persist()
        if (faults.loseCreateResponse) {
          // The provider created it, but the answer never arrived.
          return Effect.fail(new ToolError({ tool, operation: "create", message: "timed out", retryable: true }))
        }
        const created = { resourceId, env: { [envKey]: Redacted.make(`secret-${resourceId}`) }, meta: { limit: 20 } }
        return options.createDelayMs ? Effect.as(Effect.sleep(options.createDelayMs), created) : Effect.succeed(created)
      }),
    release: (_instanceId, resourceId) =>
      Effect.suspend(() => {
        if (faults.failRelease) return Effect.fail(new ToolError({ tool, operation: "release", message: "injected", retryable: true }))
        reload()
        live.delete(resourceId)
        persist()
        return Effect.void
      }),
    find: (instanceId) =>
      Effect.sync(() => {
        reload()
        return Option.fromNullishOr([...live.entries()].find(([, owner]) => owner === instanceId)?.[0])
      }),
  }
  return { provider, live, faults, reload }
}
