/** Lays out an instance's state dir before each gateway start: config, workspace, plugin path, temp and log dirs. */
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import type { GatewayPaths } from "./gatewayEnv.ts"

export const RUNTIME_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..")
export const TEMPLATE_PATH = join(RUNTIME_DIR, "openclaw.template.json5")
export const WORKSPACE_TEMPLATE_DIR = join(RUNTIME_DIR, "workspace")
export const PLUGIN_DIR = join(RUNTIME_DIR, "extensions", "convos")
export const CONVOS_MODULE_PATH = join(RUNTIME_DIR, "..", "convos", "index.ts")

export const gatewayPaths = (stateDir: string): GatewayPaths => {
  const root = resolve(stateDir)
  return {
    openclawStateDir: join(root, "openclaw"),
    convosStateDir: join(root, "convos"),
    workspaceDir: join(root, "openclaw", "workspace"),
    pluginDir: PLUGIN_DIR,
    convosModulePath: CONVOS_MODULE_PATH,
    logFile: join(root, "logs", "gateway.log"),
    tmpDir: join(root, "tmp"),
  }
}

export const prepareState = (paths: GatewayPaths): void => {
  for (const dir of [paths.openclawStateDir, paths.convosStateDir, paths.workspaceDir, paths.tmpDir, dirname(paths.logFile)]) {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
  }
  // The config is ours: rewritten from the template on every start (OpenClaw substitutes the ${VARS} at load).
  writeFileSync(join(paths.openclawStateDir, "openclaw.json"), readFileSync(TEMPLATE_PATH, "utf8"), { mode: 0o600 })
  // Shipped persona files are refreshed; anything else the agent wrote in its workspace stays.
  cpSync(WORKSPACE_TEMPLATE_DIR, paths.workspaceDir, { recursive: true, force: true })
  // Replies queued before a hard kill would be re-sent on start: XMTP has no idempotent send, so drop them.
  rmSync(join(paths.openclawStateDir, "delivery-queue"), { recursive: true, force: true })
}
