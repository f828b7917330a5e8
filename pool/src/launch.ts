import { NodeRuntime } from "@effect/platform-node"
import { Cause, Effect, Layer } from "effect"

/**
 * Runs an application layer until interrupted (SIGINT/SIGTERM run its finalizers: claims in flight finish first).
 * A bad setting stops start-up with one line naming the variable, instead of a stack trace.
 */
export const launch = <E>(app: Layer.Layer<never, E>) =>
  Layer.launch(app).pipe(
    Effect.catchCause((cause) => {
      const error: unknown = Cause.squash(cause)
      if ((error as { _tag?: unknown } | undefined)?._tag === "ConfigError") {
        const detail = String((error as { message?: unknown }).message ?? error).replace(/\s+/g, " ").trim()
        return Effect.sync(() => {
          process.stderr.write(`configuration error: ${detail} (see .env.example)\n`)
          process.exit(1)
        })
      }
      return Effect.failCause(cause)
    }),
    NodeRuntime.runMain,
  )
