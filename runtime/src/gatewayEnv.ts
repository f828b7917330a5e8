/**
 * The environment of the gateway child. Pure. Built from scratch rather than inherited, so the instance token and
 * the pool URL never reach the agent's process; the model key has to (OpenClaw calls the model), and the agent's
 * tool profile keeps it out of reach of the chat. Email and SMS go through the supervisor (CONVOS_TOOLS_URL, see
 * toolForwarding.ts), which adds the instance token itself.
 */
import type { InstanceEnv } from "./instanceEnv.ts"
import { OPENROUTER_BASE_URL } from "./instanceEnv.ts"

export interface GatewayPaths {
  readonly openclawStateDir: string
  readonly convosStateDir: string
  readonly workspaceDir: string
  readonly pluginDir: string
  readonly convosModulePath: string
  readonly logFile: string
  readonly tmpDir: string
}

// Names of our own: OpenClaw treats well-known provider variables (MODEL_API_KEY, OPENROUTER_API_KEY, …) as
// "this provider is configured" and tries to install that provider's plugin from the network at start-up.

/** Used as the model endpoint when none is configured: never called (the plugin answers without the model). */
const NO_CONVOS_LLM_BASE_URL = "http://127.0.0.1:9/v1"

/**
 * Node flags of the gateway (override with OPENCLAW_NODE_OPTIONS): V8 limits that keep an idle gateway lean, and
 * `--expose-gc` so the plugin can collect the warm-up turn's garbage.
 */
export const DEFAULT_GATEWAY_NODE_OPTIONS = "--max-semi-space-size=2 --max-old-space-size=384 --expose-gc"

// CONVOS_KEY_ENCRYPTION_KEY: the at-rest key of the XMTP identity file, when the operator sets one.
const PASS_THROUGH = ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "CONVOS_KEY_ENCRYPTION_KEY"]

/** How the gateway reaches back to its supervisor. */
export interface SupervisorLinks {
  /** Authenticates the supervisor on the plugin's control routes, and the plugin on the supervisor's tool routes. */
  readonly gatewayToken: string
  /** The supervisor's loopback tool forwarding server. */
  readonly toolsUrl: string
}

export const buildGatewayEnv = (
  instance: InstanceEnv,
  paths: GatewayPaths,
  links: SupervisorLinks,
  parent: NodeJS.ProcessEnv,
): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const key of PASS_THROUGH) {
    const value = parent[key]
    if (value !== undefined) env[key] = value
  }
  const model = instance.model
  const modelVars =
    model.kind === "openrouter"
      ? { CONVOS_LLM_BASE_URL: OPENROUTER_BASE_URL, CONVOS_LLM_API_KEY: model.apiKey, CONVOS_LLM_MODEL: model.model, CONVOS_MODEL_CONFIGURED: "1" }
      : model.kind === "openai-compatible"
        ? { CONVOS_LLM_BASE_URL: model.baseUrl, CONVOS_LLM_API_KEY: model.apiKey, CONVOS_LLM_MODEL: model.model, CONVOS_MODEL_CONFIGURED: "1" }
        : { CONVOS_LLM_BASE_URL: NO_CONVOS_LLM_BASE_URL, CONVOS_LLM_API_KEY: "none", CONVOS_LLM_MODEL: "none", CONVOS_MODEL_CONFIGURED: "0" }
  return {
    ...env,
    ...instance.toolEnv,
    ...modelVars,
    OPENCLAW_STATE_DIR: paths.openclawStateDir,
    OPENCLAW_CONFIG_PATH: `${paths.openclawStateDir}/openclaw.json`,
    OPENCLAW_WORKSPACE_DIR: paths.workspaceDir,
    OPENCLAW_LOG_FILE: paths.logFile,
    OPENCLAW_GATEWAY_TOKEN: links.gatewayToken,
    CONVOS_TOOLS_URL: links.toolsUrl,
    CONVOS_PLUGIN_DIR: paths.pluginDir,
    CONVOS_STATE_DIR: paths.convosStateDir,
    CONVOS_MODULE_PATH: paths.convosModulePath,
    // The plugin stops the gateway if the supervisor dies without stopping it.
    CONVOS_SUPERVISOR_PID: String(process.pid),
    XMTP_ENV: instance.xmtpEnv,
    ...(instance.xmtpApiUrl ? { XMTP_API_URL: instance.xmtpApiUrl } : {}),
    // Offline-friendly and quiet: no helper downloads, no update checks, no mDNS, one gateway per state dir.
    OPENCLAW_OFFLINE: "1",
    OPENCLAW_NO_AUTO_UPDATE: "1",
    OPENCLAW_DISABLE_BONJOUR: "1",
    OPENCLAW_NO_RESPAWN: "1",
    // Lock files and compile caches go to a per-instance temp dir, not a shared one.
    TMPDIR: paths.tmpDir,
    NODE_OPTIONS: parent.OPENCLAW_NODE_OPTIONS ?? DEFAULT_GATEWAY_NODE_OPTIONS,
  }
}
