/**
 * `npm run manager:intent -- "<text>"`: prints, as one line of JSON, the intent the manager would act on for that
 * text written in a group (model path when MANAGER_MODEL is set, rules otherwise). Logs go to stderr.
 */
import { Effect, Layer, Logger } from "effect"
import { IntentParser } from "../intent/IntentParser.ts"
import { TemplateCatalog } from "../intent/TemplateCatalog.ts"

const text = process.argv.slice(2).join(" ").trim()
if (text.length === 0) {
  process.stderr.write('usage: npm run manager:intent -- "spawn a trip planner here"\n')
  process.exit(2)
}

const program = Effect.gen(function* () {
  const parser = yield* IntentParser
  const managerName = process.env.MANAGER_NAME?.trim() || "Manager"
  const { intent, source } = yield* parser.parse(text, { conversation: "group", managerName })
  process.stdout.write(JSON.stringify(intent) + "\n")
  process.stderr.write(`(${source})\n`)
})

await Effect.runPromise(
  program.pipe(
    Effect.provide(IntentParser.layer.pipe(Layer.provide(TemplateCatalog.layer))),
    Effect.provideService(Logger.LogToStderr, true),
  ),
).catch((error: unknown) => {
  process.stderr.write(`manager:intent failed: ${String(error)}\n`)
  process.exit(1)
})
