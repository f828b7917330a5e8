/**
 * `npm run manager:intent -- [--dm] [--reply] [--agents=Remy,Chef] "<text>"`: prints, as one line of JSON, the
 * intent the manager would act on for that text (model path when MANAGER_MODEL is set, rules otherwise). By default
 * the text is written in a group with no agents, not addressed to the manager; the flags set the conversation the
 * phrasing table's rows assume. Logs go to stderr.
 */
import { Effect, Layer, Logger } from "effect"
import type { MessageContext } from "../intent/Intent.ts"
import { IntentParser } from "../intent/IntentParser.ts"
import { TemplateCatalog } from "../intent/TemplateCatalog.ts"

const usage = 'usage: npm run manager:intent -- [--dm] [--reply] [--agents=Remy,Chef] "spawn a trip planner here"\n'

const args = process.argv.slice(2)
const flags = args.filter((arg) => /^--(?:dm|reply|agents=.*)$/.test(arg))
const unknown = args.find((arg) => arg.startsWith("--") && !flags.includes(arg))
const text = args
  .filter((arg) => !flags.includes(arg))
  .join(" ")
  .trim()
if (text.length === 0 || unknown !== undefined) {
  process.stderr.write(unknown !== undefined ? `unknown option ${unknown}\n${usage}` : usage)
  process.exit(2)
}
const agents = flags
  .find((flag) => flag.startsWith("--agents="))
  ?.slice("--agents=".length)
  .split(",")
  .map((name) => name.trim())
  .filter((name) => name.length > 0)

const program = Effect.gen(function* () {
  const parser = yield* IntentParser
  const ctx: MessageContext = {
    conversation: flags.includes("--dm") ? "dm" : "group",
    managerName: process.env.MANAGER_NAME?.trim() || "Manager",
    repliesToManager: flags.includes("--reply"),
    knownAgents: agents ?? [],
  }
  const { intent, source } = yield* parser.parse(text, ctx)
  process.stdout.write(JSON.stringify(intent) + "\n")
  process.stderr.write(`(${source})\n`)
})

await Effect.runPromise(
  program.pipe(
    Effect.provide(IntentParser.layer.pipe(Layer.provide(TemplateCatalog.layerSeed))),
    Effect.provideService(Logger.LogToStderr, true),
  ),
).catch((error: unknown) => {
  process.stderr.write(`manager:intent failed: ${String(error)}\n`)
  process.exit(1)
})
