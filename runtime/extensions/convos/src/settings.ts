/**
 * The plugin's settings, from the environment the supervisor gives the gateway (runtime/src/gatewayEnv.ts).
 * Read once, in one place.
 */
export interface ConvosSettings {
  /** Where the XMTP identity, database and binding live (persists across restarts). */
  readonly stateDir: string
  readonly xmtpEnv: "local" | "dev" | "production"
  readonly xmtpApiUrl: string | undefined
  readonly modelConfigured: boolean
  /** Bearer token the supervisor uses on the plugin's control routes. */
  readonly controlToken: string
  readonly joinWaitMs: number
  /** Absolute path of `convos/index.ts` (the gateway runs the plugin from a copy, so relative paths do not work). */
  readonly convosModulePath: string
}

export const readSettings = (env: NodeJS.ProcessEnv = process.env): ConvosSettings => {
  const stateDir = env.CONVOS_STATE_DIR
  if (!stateDir) throw new Error("CONVOS_STATE_DIR is not set: the convos channel needs a state directory (set by runtime/src/main.ts)")
  const xmtpEnv = env.XMTP_ENV ?? "dev"
  if (xmtpEnv !== "local" && xmtpEnv !== "dev" && xmtpEnv !== "production")
    throw new Error(`XMTP_ENV must be local, dev or production, got "${xmtpEnv}"`)
  const controlToken = env.OPENCLAW_GATEWAY_TOKEN
  if (!controlToken) throw new Error("OPENCLAW_GATEWAY_TOKEN is not set: the convos control routes need it")
  const convosModulePath = env.CONVOS_MODULE_PATH
  if (!convosModulePath) throw new Error("CONVOS_MODULE_PATH is not set: the convos channel needs the path of convos/index.ts")
  const joinWaitMs = Number(env.CONVOS_JOIN_WAIT_MS ?? "10000")
  return {
    stateDir,
    xmtpEnv,
    xmtpApiUrl: env.XMTP_API_URL || undefined,
    modelConfigured: env.CONVOS_MODEL_CONFIGURED === "1",
    controlToken,
    convosModulePath,
    joinWaitMs: Number.isFinite(joinWaitMs) && joinWaitMs >= 0 ? joinWaitMs : 10_000,
  }
}
