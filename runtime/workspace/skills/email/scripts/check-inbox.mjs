#!/usr/bin/env node
// Lists the newest messages of this agent's own inbox through the pool: [--limit N] (1–50, default 20)
import { fail, parseArgs, poolCall } from "./pool-call.mjs"

const args = await parseArgs(process.argv.slice(2), ["limit"])
const limit = args.limit === undefined ? 20 : Number(args.limit)
if (!Number.isInteger(limit) || limit < 1 || limit > 50) fail("--limit must be a whole number from 1 to 50")
const inbox = await poolCall("GET", `api/tools/email/inbox?limit=${limit}`)
process.stdout.write(`${JSON.stringify(inbox, null, 2)}\n`)
