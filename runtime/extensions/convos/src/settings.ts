/**
 * The plugin's settings: host-wide ones from the environment the supervisor gives the gateway
 * (runtime/src/gatewayEnv.ts), per-account ones from `channels.convos.accounts.<slotId>` in the gateway config
 * (runtime/src/gatewayConfig.ts writes them; openclaw.plugin.json declares them).
 */
import { record } from "./toolParams.ts"

export interface HostSettings {
  readonly xmtpEnv: "local" | "dev" | "production"
  readonly xmtpApiUrl: string | undefined
  /** Bearer token the supervisor uses on the plugin's control routes, and the plugin on the supervisor's tool routes. */
  readonly controlToken: string
  readonly joinWaitMs: number
  /** Absolute paths of `convos/index.ts` and `contract/index.ts` (the gateway runs the plugin from a copy). */
  readonly convosModulePath: string
  readonly contractModulePath: string
  /** The supervisor's tool forwarding, when there is one. */
  readonly toolsUrl: string | undefined
}

/** One account (= one slot). */
export interface AccountSettings {
  readonly accountId: string
  readonly enabled: boolean
  /** Where this account's XMTP identity, database and binding live (persists across restarts). */
  readonly stateDir: string
  readonly modelConfigured: boolean
  /** Whether a warm-up turn runs before the account reports ready (false when a claim is already waiting for it). */
  readonly warmUp: boolean
  /** The slot's tool variables (AGENTMAIL_INBOX_ID, TELNYX_PHONE_NUMBER, …): which tools its agent gets. */
  readonly tools: Readonly<Record<string, string>>
}

/** What one account's transport and instance need. */
export type ConvosSettings = HostSettings & AccountSettings

export const readHostSettings = (env: NodeJS.ProcessEnv = process.env): HostSettings => {
  const xmtpEnv = env.XMTP_ENV ?? "dev"
  if (xmtpEnv !== "local" && xmtpEnv !== "dev" && xmtpEnv !== "production")
    throw new Error(`XMTP_ENV must be local, dev or production, got "${xmtpEnv}"`)
  const controlToken = env.OPENCLAW_GATEWAY_TOKEN
  if (!controlToken) throw new Error("OPENCLAW_GATEWAY_TOKEN is not set: the convos control routes need it")
  const convosModulePath = env.CONVOS_MODULE_PATH
  if (!convosModulePath) throw new Error("CONVOS_MODULE_PATH is not set: the convos channel needs the path of convos/index.ts")
  const contractModulePath = env.CONVOS_CONTRACT_PATH
  if (!contractModulePath) throw new Error("CONVOS_CONTRACT_PATH is not set: the convos channel needs the path of contract/index.ts")
  const joinWaitMs = Number(env.CONVOS_JOIN_WAIT_MS ?? "10000")
  return {
    xmtpEnv,
    xmtpApiUrl: env.XMTP_API_URL || undefined,
    controlToken,
    convosModulePath,
    contractModulePath,
    toolsUrl: env.CONVOS_TOOLS_URL?.trim() || undefined,
    joinWaitMs: Number.isFinite(joinWaitMs) && joinWaitMs >= 0 ? joinWaitMs : 10_000,
  }
}

/** The accounts of `channels.convos.accounts` in a gateway config (never `default`: slots are named). */
export const accountIdsOf = (cfg: unknown): Array<string> =>
  Object.keys(record(record(record(record(cfg).channels).convos).accounts)).filter((id) => id !== "default")

/** One account's settings from the gateway config, or undefined when the config has no such account. */
export const accountSettingsOf = (cfg: unknown, accountId: string): AccountSettings | undefined => {
  if (accountId === "default") return undefined
  const accounts = record(record(record(record(cfg).channels).convos).accounts)
  if (!Object.hasOwn(accounts, accountId)) return undefined
  const account = record(accounts[accountId])
  const tools: Record<string, string> = {}
  for (const [name, value] of Object.entries(record(account.tools))) if (typeof value === "string") tools[name] = value
  return {
    accountId,
    enabled: account.enabled !== false && typeof account.stateDir === "string",
    stateDir: typeof account.stateDir === "string" ? account.stateDir : "",
    modelConfigured: account.modelConfigured === true,
    warmUp: account.warmUp !== false,
    tools,
  }
}
