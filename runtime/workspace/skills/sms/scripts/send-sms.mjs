#!/usr/bin/env node
// Sends one SMS from this agent's own number through the pool: --to +E164 --text TEXT|-
import { fail, parseArgs, poolCall } from "./pool-call.mjs"

const args = await parseArgs(process.argv.slice(2), ["to", "text"])
if (!/^\+[1-9][0-9]{6,14}$/.test(args.to ?? "")) fail("--to must be an E.164 number such as +15551234567")
if (!args.text?.trim()) fail("--text is required")
const sent = await poolCall("POST", "api/tools/sms/send", { to: args.to, text: args.text })
process.stdout.write(`${JSON.stringify(sent)}\n`)
