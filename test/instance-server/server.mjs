// A small, real host for the pool's tests: the host and slot routes of contract/index.ts on a real port, decoded with
// the contract's own schemas, without the weight of the runtime (no gateway: a slot is "ready" after `readyAfterMs`).
// Slots are persisted under STATE_DIR/slots/<slotId>/ (spec.json 0600, identity.json, binding.json), so a restarted
// host brings every slot back with its identity and conversation. Faults are injected with JSON files:
//   per slot  STATE_DIR/slots/<slotId>/control.json
//   per host  <host dir>/control.json               (the host dir is STATE_DIR's parent: DATA_DIR/hosts/<hostId>)
//   pool-wide DATA_DIR/default-control.json
// Slot keys: { "readyAfterMs": 0, "health": "ok" | "down", "provision": "ok" | "error" | "hang" | "conflict" |
//   "pending", "resetClean": true, "provisionDelayMs": 0, "configure": "ok" | "error" }
// Host keys: { "hostHealth": "ok" | "down", "gateway": "ok" | "down", "healthDelayMs": 0 }
// Plain JavaScript (Node strips the contract's types), so a host starts in well under a second.
import { randomBytes, timingSafeEqual } from "node:crypto"
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:http"
import { dirname, join } from "node:path"
import { Schema } from "effect"
import {
  ConfigureRequest,
  HostEnv,
  ProvisionRequest,
  SlotId,
  SlotSpec,
} from "../../contract/index.ts"

const env = Schema.decodeUnknownSync(HostEnv)(process.env)
const stateDir = env.STATE_DIR
const slotsDir = join(stateDir, "slots")
mkdirSync(slotsDir, { recursive: true })

const readJson = (file, fallback) => {
  try {
    return JSON.parse(readFileSync(file, "utf8"))
  } catch {
    return fallback
  }
}
const defaultControl = () => readJson(join(stateDir, "..", "..", "..", "default-control.json"), {})
const hostControl = () => ({ ...defaultControl(), ...readJson(join(dirname(stateDir), "control.json"), {}) })
const slotDir = (id) => join(slotsDir, id)
const slotControl = (id) => ({ ...defaultControl(), ...readJson(join(slotDir(id), "control.json"), {}) })

/** slotId → { spec, startedAt, binding, provisioning, inboxId } */
const slots = new Map()
const load = (id) => {
  const dir = slotDir(id)
  const spec = readJson(join(dir, "spec.json"), null)
  if (spec === null) return
  const identityFile = join(dir, "identity.json")
  if (!existsSync(identityFile)) writeFileSync(identityFile, JSON.stringify({ inboxId: randomBytes(32).toString("hex") }))
  slots.set(id, {
    spec,
    startedAt: Date.now(),
    binding: readJson(join(dir, "binding.json"), null),
    provisioning: false,
    inboxId: readJson(identityFile, {}).inboxId,
  })
}
for (const id of readdirSync(slotsDir)) load(id)

const saveBinding = (id, slot) => writeFileSync(join(slotDir(id), "binding.json"), JSON.stringify(slot.binding))
const isSlotId = Schema.is(SlotId)
const decode = (schema, body) => {
  try {
    return { ok: true, value: Schema.decodeUnknownSync(schema)(body) }
  } catch (error) {
    return { ok: false, error: String(error?.message ?? error).split("\n")[0] }
  }
}

const bearer = (req, token) => {
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
        resolve(undefined)
      }
    })
  })

const healthOf = (id, slot) => {
  const c = slotControl(id)
  const ready = c.health !== "down" && hostControl().gateway !== "down" && Date.now() - slot.startedAt >= (c.readyAfterMs ?? 0)
  return { slotId: id, ready, inboxId: slot.inboxId, conversationId: slot.binding?.conversationId ?? null }
}

const hostRoute = async (req, res, path) => {
  if (!bearer(req, env.HOST_TOKEN)) return send(res, 401, { error: "Invalid or missing host token" })
  const hc = hostControl()
  if (req.method === "GET" && path === "/host/health") {
    if (hc.hostHealth === "down") return send(res, 503, { error: "down" })
    if (hc.healthDelayMs) await new Promise((r) => setTimeout(r, hc.healthDelayMs))
    return send(res, 200, {
      hostId: env.HOST_ID,
      version: "test-host-1",
      gatewayReady: hc.gateway !== "down",
      capacity: env.HOST_CAPACITY,
      slots: [...slots].map(([id, slot]) => healthOf(id, slot)),
    })
  }
  const match = /^\/host\/slots\/([^/]+)$/.exec(path)
  if (!match) return send(res, 404, { error: "not found" })
  const id = match[1]
  if (!isSlotId(id)) return send(res, 400, { error: "bad slot id" })
  if (req.method === "PUT") {
    const spec = decode(SlotSpec, await readBody(req))
    if (!spec.ok) return send(res, 400, { error: spec.error })
    const existing = slots.get(id)
    if (existing && existing.spec.token !== spec.value.token) return send(res, 409, { error: "the slot exists with another token" })
    if (!existing && slots.size >= env.HOST_CAPACITY) return send(res, 409, { error: "the host is full" })
    mkdirSync(slotDir(id), { recursive: true })
    writeFileSync(join(slotDir(id), "spec.json"), JSON.stringify(spec.value), { mode: 0o600 })
    if (existing) existing.spec = spec.value
    else load(id)
    return send(res, 200, { slotId: id })
  }
  if (req.method === "DELETE") {
    const slot = slots.get(id)
    // A bound slot's agent leaves its conversation first (recorded here, for the tests).
    if (slot?.binding?.conversationId) {
      writeFileSync(join(stateDir, "left.log"), `${id} ${slot.binding.conversationId}\n`, { flag: "a" })
    }
    slots.delete(id)
    rmSync(slotDir(id), { recursive: true, force: true })
    return send(res, 200, { removed: true })
  }
  return send(res, 404, { error: "not found" })
}

const slotRoute = async (req, res, id, action) => {
  const slot = slots.get(id)
  if (!slot) return send(res, 404, { error: "no such slot" })
  if (!bearer(req, slot.spec.token)) return send(res, 401, { error: "Invalid or missing token" })
  const c = slotControl(id)
  if (req.method === "GET" && action === "health") {
    if (c.health === "down") return send(res, 503, { error: "down" })
    return send(res, 200, healthOf(id, slot))
  }
  if (req.method === "POST" && action === "provision") {
    const body = decode(ProvisionRequest, await readBody(req))
    if (!body.ok) return send(res, 400, { error: body.error })
    const request = body.value
    if (slot.binding || slot.provisioning) return send(res, 409, { error: "already bound" })
    slot.provisioning = true
    if (c.provisionDelayMs) await new Promise((r) => setTimeout(r, c.provisionDelayMs))
    if (c.provision === "hang") return // never answers: the pool's timeout must handle it
    if (c.provision === "error") return send(res, 500, { error: "provision exploded" })
    if (c.provision === "conflict") return send(res, 409, { error: "already bound" })
    const conversationId = request.mode === "add" ? request.conversationId : randomBytes(16).toString("hex")
    if (c.provision === "pending") {
      slot.binding = { pending: true, joinUrl: request.joinUrl, agentName: request.agentName }
      saveBinding(id, slot)
      return send(res, 200, { status: "pending_acceptance", conversationId: null, inviteUrl: null })
    }
    const { mode, agentName, instructions, managerInboxId, skills } = request
    slot.binding = { conversationId, agentName, instructions, mode, managerInboxId, skills }
    saveBinding(id, slot)
    if (mode === "create") {
      return send(res, 200, { status: "created", conversationId, inviteUrl: `https://dev.convos.org/v2?i=test-${conversationId}` })
    }
    return send(res, 200, { status: mode === "join" ? "joined" : "added", conversationId, inviteUrl: null })
  }
  if (req.method === "POST" && action === "configure") {
    const body = decode(ConfigureRequest, await readBody(req))
    if (!body.ok) return send(res, 400, { error: body.error })
    if (!slot.binding) return send(res, 409, { error: "not provisioned" })
    if (c.configure === "error") return send(res, 500, { error: "configure exploded" })
    slot.binding = { ...slot.binding, ...body.value }
    saveBinding(id, slot)
    return send(res, 200, { status: "configured", agentName: slot.binding.agentName })
  }
  if (req.method === "POST" && action === "reset") {
    slot.provisioning = false
    const clean = c.resetClean ?? !slot.binding
    if (clean) {
      slot.binding = null
      saveBinding(id, slot)
    }
    return send(res, 200, { clean })
  }
  return send(res, 404, { error: "not found" })
}

createServer(async (req, res) => {
  const path = (req.url ?? "/").split("?")[0]
  if (path.startsWith("/host/")) return hostRoute(req, res, path)
  const match = /^\/slots\/([^/]+)\/(health|provision|configure|reset)$/.exec(path)
  if (match) return slotRoute(req, res, match[1], match[2])
  send(res, 404, { error: "not found" })
}).listen(env.PORT, env.BIND_HOST ?? "127.0.0.1")

process.on("SIGTERM", () => process.exit(0))
