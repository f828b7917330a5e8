/** `npm run demo`: the offline demo (see demoScenario.ts); exits 0 only if every step happened. */
import { runDemo } from "./demoScenario.ts"

console.log("Convos agents — offline demo (fake XMTP node, fake model, real pool, manager and agent runtime)\n")
const result = await runDemo({ ...(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : {}), print: (line) => console.log(line) })
const failed = result.steps.filter((s) => !s.ok)
console.log(failed.length === 0 ? "\ndemo passed: every step happened" : `\ndemo FAILED at: ${failed.map((s) => s.name).join("; ")}`)
process.exit(failed.length === 0 && result.ok ? 0 : 1)
