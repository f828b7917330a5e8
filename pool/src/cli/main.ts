/**
 * Operator CLI over the pool's HTTP API:
 *   npm run pool -- status | replenish N | drain N | drain-host HOST_ID | kill ID | reconcile
 *   npm run pool -- configure ID [--name NAME] [--instructions TEXT]
 *   npm run pool -- claim --name "Trip Planner" --instructions "…" [--join-url URL]
 * POOL_URL (default http://127.0.0.1:$PORT or :3001) and POOL_API_KEY (default: DATA_DIR/pool-api-key).
 */
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { type HostView, hostsReport, statusReport, type InstanceView } from "./format.ts"

const usage = `usage: npm run pool -- <command>
  status                          hosts (capacity, used/idle/starting, health, compute), counts, every instance
  replenish [N]                   create N instances (default: up to the idle target)
  drain [N]                       destroy up to N idle/starting/dead instances (default 1)
  drain-host HOST_ID              no new agents on that host; its idle ones go; destroyed once empty
  kill ID                         destroy one instance, whatever its status
  configure ID [--name NAME] [--instructions TEXT]
                                  rename and/or re-instruct a claimed agent
  reconcile                       run one reconcile tick now
  claim --name NAME --instructions TEXT [--join-url URL]
                                  claim an agent, with live progress`

const baseUrl = process.env.POOL_URL ?? `http://127.0.0.1:${process.env.PORT ?? "3001"}`
const apiKey = (() => {
  if (process.env.POOL_API_KEY) return process.env.POOL_API_KEY
  const file = join(process.env.DATA_DIR ?? ".data", "pool-api-key")
  return existsSync(file) ? readFileSync(file, "utf8").trim() : ""
})()

const fail = (message: string): never => {
  console.error(message)
  process.exit(1)
}

const call = async (method: string, path: string, body?: unknown) => {
  let response: Response
  try {
    response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${apiKey}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
  } catch {
    return fail(`cannot reach the pool at ${baseUrl} (is it running? set POOL_URL)`)
  }
  const json = await response.json().catch(() => ({})) as Record<string, unknown>
  if (!response.ok) fail(`error ${response.status}: ${String(json.error ?? response.statusText)}`)
  return json
}

const count = (value: string | undefined, fallback?: number) => {
  if (value === undefined) return fallback
  const n = Number(value)
  return Number.isInteger(n) && n >= 0 ? n : fail(`not a count: ${value}`)
}

const countsLine = (counts: unknown) =>
  Object.entries(counts as Record<string, number>).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s}`).join(", ") ||
  "no instances"

const main = async () => {
  const { positionals, values } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: { name: { type: "string" }, instructions: { type: "string" }, "join-url": { type: "string" } },
  })
  const [command, argument] = positionals
  switch (command) {
    case "status": {
      const status = await call("GET", "/api/pool/status")
      console.log(hostsReport(status.hosts as Array<HostView>))
      console.log()
      console.log(statusReport(status.counts as Record<string, number>, status.instances as Array<InstanceView>))
      return
    }
    case "replenish": {
      const n = count(argument)
      const result = await call("POST", "/api/pool/replenish", n === undefined ? {} : { count: n })
      const created = result.created as Array<string>
      console.log(`creating ${created.length} instance(s)${created.length ? `: ${created.join(", ")}` : ""}`)
      // Warm-up takes a while: follow it until nothing is starting.
      let counts = result.counts as Record<string, number>
      while (created.length > 0 && (counts.starting ?? 0) > 0) {
        process.stdout.write(`\r${countsLine(counts)}   `)
        await new Promise((r) => setTimeout(r, 1000))
        counts = await call("GET", "/api/pool/counts") as Record<string, number>
      }
      console.log(`\r${countsLine(counts)}   `)
      return
    }
    case "drain": {
      const result = await call("POST", "/api/pool/drain", { count: count(argument, 1) })
      const drained = result.drained as Array<string>
      console.log(`drained ${drained.length}${drained.length ? `: ${drained.join(", ")}` : ""}; now ${countsLine(result.counts)}`)
      return
    }
    case "drain-host": {
      if (!argument) return fail("usage: npm run pool -- drain-host HOST_ID")
      const result = await call("POST", `/api/pool/hosts/${encodeURIComponent(argument)}/drain`)
      const drained = result.drained as Array<string>
      console.log(`host ${argument} is draining; removed ${drained.length} idle agent(s); now ${countsLine(result.counts)}`)
      return
    }
    case "kill": {
      if (!argument) return fail("usage: npm run pool -- kill ID")
      await call("DELETE", `/api/pool/instances/${encodeURIComponent(argument)}`)
      console.log(`destroyed ${argument}`)
      return
    }
    case "configure": {
      if (!argument || (values.name === undefined && values.instructions === undefined)) {
        return fail("usage: npm run pool -- configure ID [--name NAME] [--instructions TEXT]")
      }
      const change = {
        ...(values.name === undefined ? {} : { agentName: values.name }),
        ...(values.instructions === undefined ? {} : { instructions: values.instructions }),
      }
      const result = await call("POST", `/api/pool/instances/${encodeURIComponent(argument)}/configure`, change)
      console.log(`${argument} is now ${String(result.agentName)}${values.instructions === undefined ? "" : ", with new instructions"}`)
      return
    }
    case "reconcile": {
      const r = await call("POST", "/api/pool/reconcile")
      console.log(`checked ${r.checked}, ${r.transitions} transition(s), ${r.reaped} reaped, ${r.orphans} orphan(s), ${r.created} created`)
      return
    }
    case "claim": {
      if (!values.name || !values.instructions) return fail("usage: npm run pool -- claim --name NAME --instructions TEXT [--join-url URL]")
      const query = new URLSearchParams({ agentName: values.name, instructions: values.instructions })
      if (values["join-url"]) query.set("joinUrl", values["join-url"])
      const response = await fetch(`${baseUrl}/api/pool/claim/stream?${query}`, {
        headers: { authorization: `Bearer ${apiKey}` },
      }).catch(() => fail(`cannot reach the pool at ${baseUrl}`))
      if (!response.ok) {
        const json = await response.json().catch(() => ({})) as { error?: string }
        return fail(`error ${response.status}: ${json.error ?? response.statusText}`)
      }
      const decoder = new TextDecoder()
      let buffer = ""
      for await (const chunk of response.body!) {
        buffer += decoder.decode(chunk, { stream: true })
        let end: number
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const event = JSON.parse(buffer.slice(0, end).replace(/^data: /, "")) as Record<string, unknown>
          buffer = buffer.slice(end + 2)
          if (event.type === "step") console.log(`  ${event.status === "fail" ? "✗" : event.status === "active" || event.status === "waiting" ? "…" : "✓"} ${event.message}`)
          else if (event.ok) {
            console.log(`${event.agentName} (${event.instanceId}) is ${event.status === "pending_acceptance" ? "waiting to be accepted" : "ready"}`)
            if (event.inviteUrl) console.log(`invite: ${event.inviteUrl}`)
          } else fail(`claim failed: ${event.error}`)
        }
      }
      return
    }
    default:
      console.log(usage)
      if (command !== undefined && command !== "help") process.exit(2)
  }
}

void main()
