/**
 * The host's state dir: one OpenClaw state for the gateway, and one dir per slot holding its spec (token, model key:
 * mode 0600), its XMTP identity and binding, its workspace and its agentDir. A restart finds every slot here.
 *
 *   $STATE_DIR/openclaw/openclaw.json   the gateway config (written only by the supervisor, atomically)
 *   $STATE_DIR/slots/<slotId>/slot.json the SlotSpec as the pool sent it
 *   $STATE_DIR/slots/<slotId>/{convos,workspace,agent}
 *   $STATE_DIR/{logs,tmp}
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import { SLOT_ID, SlotSpec } from "../../contract/index.ts"

export const RUNTIME_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..")
export const WORKSPACE_TEMPLATE_DIR = join(RUNTIME_DIR, "workspace")
export const PLUGIN_DIR = join(RUNTIME_DIR, "extensions", "convos")
export const CONVOS_MODULE_PATH = join(RUNTIME_DIR, "..", "convos", "index.ts")
export const CONTRACT_MODULE_PATH = join(RUNTIME_DIR, "..", "contract", "index.ts")

export interface HostPaths {
  readonly root: string
  readonly openclawStateDir: string
  readonly configPath: string
  readonly slotsDir: string
  readonly logFile: string
  readonly consoleLogFile: string
  readonly tmpDir: string
  /** The fallback workspace OpenClaw wants for itself; no agent uses it. */
  readonly workspaceDir: string
  readonly pluginDir: string
}

export interface SlotPaths {
  readonly dir: string
  readonly specFile: string
  readonly convosStateDir: string
  readonly workspaceDir: string
  readonly agentDir: string
}

export const hostPaths = (stateDir: string): HostPaths => {
  const root = resolve(stateDir)
  return {
    root,
    openclawStateDir: join(root, "openclaw"),
    configPath: join(root, "openclaw", "openclaw.json"),
    slotsDir: join(root, "slots"),
    logFile: join(root, "logs", "gateway.log"),
    consoleLogFile: join(root, "logs", "gateway-console.log"),
    tmpDir: join(root, "tmp"),
    workspaceDir: join(root, "openclaw", "workspace"),
    pluginDir: PLUGIN_DIR,
  }
}

export const slotPaths = (host: HostPaths, slotId: string): SlotPaths => {
  const dir = join(host.slotsDir, slotId)
  return { dir, specFile: join(dir, "slot.json"), convosStateDir: join(dir, "convos"), workspaceDir: join(dir, "workspace"), agentDir: join(dir, "agent") }
}

const mkdirs = (...dirs: ReadonlyArray<string>) => {
  for (const dir of dirs) mkdirSync(dir, { recursive: true, mode: 0o700 })
}

/** Before each gateway start: the host dirs exist, and replies queued before a hard kill are dropped. */
export const prepareHost = (paths: HostPaths): void => {
  mkdirs(paths.openclawStateDir, paths.slotsDir, paths.tmpDir, paths.workspaceDir, dirname(paths.logFile))
  // XMTP has no idempotent send: a reply queued before a hard kill would go out twice.
  rmSync(join(paths.openclawStateDir, "delivery-queue"), { recursive: true, force: true })
}

/** A slot's dirs and workspace: the shipped persona files are refreshed, and anything else the agent wrote stays. */
export const prepareSlot = (paths: SlotPaths): void => {
  mkdirs(paths.dir, paths.convosStateDir, paths.workspaceDir, paths.agentDir)
  cpSync(WORKSPACE_TEMPLATE_DIR, paths.workspaceDir, { recursive: true, force: true })
}

/** Writes `text` to `path` by rename, so a reader (the gateway's watcher) never sees half a file. */
export const writeFileAtomically = (path: string, text: string): void => {
  const temporary = `${path}.${process.pid}.tmp`
  writeFileSync(temporary, text, { mode: 0o600 })
  renameSync(temporary, path)
}

export const saveSlotSpec = (paths: SlotPaths, spec: SlotSpec): void => {
  prepareSlot(paths)
  writeFileAtomically(paths.specFile, JSON.stringify(spec))
}

/** Every persisted slot; a slot whose spec does not decode is reported (never silently dropped or half-run). */
export const loadSlotSpecs = (host: HostPaths): { readonly slots: Map<string, SlotSpec>; readonly problems: Array<string> } => {
  const slots = new Map<string, SlotSpec>()
  const problems: Array<string> = []
  if (!existsSync(host.slotsDir)) return { slots, problems }
  for (const slotId of readdirSync(host.slotsDir)) {
    if (!SLOT_ID.test(slotId) || slotId === "default") continue
    const paths = slotPaths(host, slotId)
    if (!existsSync(paths.specFile)) continue
    try {
      const decoded = Schema.decodeUnknownExit(SlotSpec)(JSON.parse(readFileSync(paths.specFile, "utf8")))
      if (Exit.isSuccess(decoded)) slots.set(slotId, decoded.value)
      else problems.push(`${paths.specFile} does not decode as a SlotSpec`)
    } catch (error) {
      problems.push(`${paths.specFile}: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  return { slots, problems }
}

export const removeSlotDir = (paths: SlotPaths): void => rmSync(paths.dir, { recursive: true, force: true })
