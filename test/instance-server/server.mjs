// A small, real implementation of docs/instance-contract.md for the pool's tests: a real process on a real port,
// without the weight of the agent runtime. Faults are injected per instance through `<STATE_DIR>/../control.json`:
//   { "readyAfterMs": 0, "health": "ok" | "down", "provision": "ok" | "error" | "hang" | "conflict" | "pending",
//     "resetClean": true, "provisionDelayMs": 0, "configure": "ok" | "error" }
// Plain JavaScript so that fifty of them start in a moment.
import { randomBytes, timingSafeEqual } from "node:crypto"
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { createServer } from "node:http"
import { dirname, join } from "node:path"

const token = process.env.INSTANCE_TOKEN ?? ""
const stateDir = process.env.STATE_DIR ?? "."
const port = Number(process.env.PORT ?? 0)
const startedAt = Date.now()
mkdirSync(stateDir, { recursive: true })

const readJson = (file, fallback) => {
  try {
    return JSON.parse(readFileSync(file, "utf8"))
  } catch {
    return fallback
  }
}
// Per-instance control over a pool-wide default (`<DATA_DIR>/default-control.json`).
const control = () => ({
  ...readJson(join(stateDir, "..", "..", "..", "default-control.json"), {}),
  ...readJson(join(dirname(stateDir), "control.json"), {}),
})
const identityFile = join(stateDir, "identity.json")
if (!existsSync(identityFile)) writeFileSync(identityFile, JSON.stringify({ inboxId: randomBytes(32).toString("hex") }))
const { inboxId } = readJson(identityFile, {})
const bindingFile = join(stateDir, "binding.json")
let binding = readJson(bindingFile, null)
let provisioning = false

const authorized = (req) => {
  const presented = Buffer.from(String(req.headers.authorization ?? ""))
  const expected = Buffer.from(`Bearer ${token}`)
  return token !== "" && presented.length === expected.length && timingSafeEqual(presented, expected)
}
const send = (res, status, body) => {
  res.writeHead(status, { "content-type": "application/json" })
  res.end(JSON.stringify(body))
}
const readBody = (req) =>
  new Promise((resolve) => {
    let data = ""
    req.on("data", (c) => (data += c))
    req.on("end", () => {
      try {
        resolve(JSON.parse(data || "{}"))
      } catch {
        resolve(null)
      }
    })
  })

createServer(async (req, res) => {
  if (!authorized(req)) return send(res, 401, { error: "Invalid or missing token" })
  const c = control()
  if (req.method === "GET" && req.url === "/pool/health") {
    if (c.health === "down") return send(res, 503, { error: "down" })
    const ready = Date.now() - startedAt >= (c.readyAfterMs ?? 0)
    return send(res, 200, { ready, inboxId, version: "test-instance-1", conversationId: binding?.conversationId ?? null })
  }
  if (req.method === "POST" && req.url === "/pool/provision") {
    const body = await readBody(req)
    if (!body || typeof body.agentName !== "string") return send(res, 400, { error: "bad body" })
    if (binding || provisioning) return send(res, 409, { error: "already bound" })
    provisioning = true
    if (c.provisionDelayMs) await new Promise((r) => setTimeout(r, c.provisionDelayMs))
    if (c.provision === "hang") return // never answers: the pool's timeout must handle it
    if (c.provision === "error") return send(res, 500, { error: "provision exploded" })
    if (c.provision === "conflict") return send(res, 409, { error: "already bound" })
    const conversationId = body.conversationId ?? randomBytes(16).toString("hex")
    if (c.provision === "pending") {
      binding = { pending: true, joinUrl: body.joinUrl, agentName: body.agentName }
      writeFileSync(bindingFile, JSON.stringify(binding))
      return send(res, 200, { status: "pending_acceptance" })
    }
    binding = { conversationId, agentName: body.agentName, instructions: body.instructions, mode: body.mode, managerInboxId: body.managerInboxId }
    writeFileSync(bindingFile, JSON.stringify(binding))
    if (body.mode === "create") {
      return send(res, 200, { status: "created", conversationId, inviteUrl: `https://dev.convos.org/v2?i=test-${conversationId}` })
    }
    return send(res, 200, { status: body.mode === "join" ? "joined" : "added", conversationId })
  }
  if (req.method === "POST" && req.url === "/pool/configure") {
    const body = await readBody(req)
    if (!body || (body.agentName === undefined && body.instructions === undefined)) return send(res, 400, { error: "bad body" })
    if (!binding) return send(res, 409, { error: "not provisioned" })
    if (c.configure === "error") return send(res, 500, { error: "configure exploded" })
    binding = { ...binding, ...body }
    writeFileSync(bindingFile, JSON.stringify(binding))
    return send(res, 200, { status: "configured", agentName: binding.agentName })
  }
  if (req.method === "POST" && req.url === "/pool/reset") {
    provisioning = false
    const clean = c.resetClean ?? !binding
    if (clean) binding = null
    return send(res, 200, { clean })
  }
  send(res, 404, { error: "not found" })
}).listen(port, "127.0.0.1")

process.on("SIGTERM", () => process.exit(0))
