#!/usr/bin/env node
// Sends one email from this agent's own inbox through the pool: --to ADDRESS --subject TEXT --text TEXT|-
import { fail, parseArgs, poolCall } from "./pool-call.mjs"

const args = await parseArgs(process.argv.slice(2), ["to", "subject", "text"])
for (const name of ["to", "subject", "text"]) if (!args[name]?.trim()) fail(`--${name} is required`)
const sent = await poolCall("POST", "api/tools/email/send", { to: args.to, subject: args.subject, text: args.text })
process.stdout.write(`${JSON.stringify(sent)}\n`)
