/**
 * The environment of the gateway child. Pure. Built from scratch rather than inherited, so the host token, the slot
 * tokens and the pool URL never reach the agents' process. Model keys are per slot, in the config file (0600), never
 * in this environment. Email and SMS go through the supervisor (CONVOS_TOOLS_URL, see toolForwarding.ts), which adds
 * the calling slot's token itself.
 */
import type { HostSettings } from "./hostEnv.ts"
import { CONTRACT_MODULE_PATH, CONVOS_MODULE_PATH, type HostPaths } from "./layout.ts"

/**
 * Node flags of the gateway (override with OPENCLAW_NODE_OPTIONS): V8 limits that keep an idle gateway lean, and
 * `--expose-gc` so the plugin can collect the warm-up turns' garbage. The heap is shared by every slot's agent.
 */
export const DEFAULT_GATEWAY_NODE_OPTIONS = "--max-semi-space-size=2 --max-old-space-size=768 --expose-gc"

/**
 * glibc malloc arenas of the gateway (override with MALLOC_ARENA_MAX). By default glibc opens up to 8 per core for
 * the native threads (each slot's XMTP client, SQLite), and memory freed in one arena is not reused by another: on
 * an idle 8-slot host, 2 arenas kept 60-100 MB less resident (bench:density); turn times stayed within the runs' noise.
 */
export const DEFAULT_GATEWAY_MALLOC_ARENAS = "2"

// CONVOS_KEY_ENCRYPTION_KEY: the at-rest key of the XMTP identity files, when the operator sets one.
// CONVOS_WEB_ALLOW_ORIGINS: exact non-public origins web_read may reach (only the e2e tests' fake web server).
const PASS_THROUGH = ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "CONVOS_KEY_ENCRYPTION_KEY", "CONVOS_JOIN_WAIT_MS", "CONVOS_WEB_ALLOW_ORIGINS"]

/** How the gateway reaches back to its supervisor. */
export interface SupervisorLinks {
  /** Authenticates the supervisor on the plugin's control routes, and the plugin on the supervisor's tool routes. */
  readonly gatewayToken: string
  /** The supervisor's loopback tool forwarding server. */
  readonly toolsUrl: string
}

export const buildGatewayEnv = (host: HostSettings, paths: HostPaths, links: SupervisorLinks, parent: NodeJS.ProcessEnv): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const key of PASS_THROUGH) {
    const value = parent[key]
    if (value !== undefined) env[key] = value
  }
  return {
    ...env,
    OPENCLAW_STATE_DIR: paths.openclawStateDir,
    OPENCLAW_CONFIG_PATH: paths.configPath,
    OPENCLAW_WORKSPACE_DIR: paths.workspaceDir,
    OPENCLAW_GATEWAY_TOKEN: links.gatewayToken,
    CONVOS_TOOLS_URL: links.toolsUrl,
    CONVOS_MODULE_PATH,
    CONVOS_CONTRACT_PATH: CONTRACT_MODULE_PATH,
    // The plugin stops the gateway if its parent, the supervisor, dies without stopping it. Not the supervisor's pid:
    // nothing in the gateway's environment points at another process (whose environment holds the host token).
    CONVOS_WATCH_PARENT: "1",
    XMTP_ENV: host.xmtpEnv,
    ...(host.xmtpApiUrl ? { XMTP_API_URL: host.xmtpApiUrl } : {}),
    // Offline-friendly and quiet: no helper downloads, no update checks, no mDNS, one gateway per state dir.
    OPENCLAW_OFFLINE: "1",
    OPENCLAW_NO_AUTO_UPDATE: "1",
    OPENCLAW_DISABLE_BONJOUR: "1",
    OPENCLAW_NO_RESPAWN: "1",
    // The config watcher polls the file's path: its native (inotify) watch stopped seeing our atomic renames after a
    // few quick slot deletes and adds, and every later write went unnoticed (seen in bench/host.ts).
    CHOKIDAR_USEPOLLING: "1",
    // Lock files and compile caches go to a per-host temp dir, not a shared one.
    TMPDIR: paths.tmpDir,
    NODE_OPTIONS: parent.OPENCLAW_NODE_OPTIONS ?? DEFAULT_GATEWAY_NODE_OPTIONS,
    MALLOC_ARENA_MAX: parent.MALLOC_ARENA_MAX ?? DEFAULT_GATEWAY_MALLOC_ARENAS,
  }
}
