#!/usr/bin/env node
// Prints one message of this agent's own inbox with its text, through the pool: --id MESSAGE_ID (from check-inbox)
import { fail, parseArgs, poolCall } from "./pool-call.mjs"

const args = await parseArgs(process.argv.slice(2), ["id"])
if (!args.id?.trim()) fail("--id is required (a messageId from check-inbox)")
const message = await poolCall("GET", `api/tools/email/messages/${encodeURIComponent(args.id)}`)
process.stdout.write(`${JSON.stringify(message, null, 2)}\n`)
