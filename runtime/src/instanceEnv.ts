/**
 * The instance contract's environment (docs/instance-contract.md), parsed once. Pure: takes the env as a value.
 * Errors name the variable to fix.
 */

export type ModelChoice =
  | { readonly kind: "openrouter"; readonly apiKey: string; readonly model: string }
  | { readonly kind: "openai-compatible"; readonly baseUrl: string; readonly apiKey: string; readonly model: string }
  | { readonly kind: "none" }

export interface InstanceEnv {
  readonly instanceId: string
  readonly instanceToken: string
  readonly poolUrl: string | undefined
  readonly port: number
  /** Where the contract is served: loopback for local processes, 0.0.0.0 in a container (BIND_HOST). */
  readonly bindHost: string
  readonly stateDir: string
  readonly xmtpEnv: "local" | "dev" | "production"
  readonly xmtpApiUrl: string | undefined
  readonly model: ModelChoice
  /** Tool variables passed through to the agent (AGENTMAIL_*, TELNYX_*). */
  readonly toolEnv: Readonly<Record<string, string>>
}

export const OPENROUTER_BASE_URL = "https://openrouter.ai/api/v1"
export const DEFAULT_OPENROUTER_MODEL = "anthropic/claude-sonnet-4.5"

export class InstanceEnvError extends Error {
  override readonly name = "InstanceEnvError"
}

const required = (env: NodeJS.ProcessEnv, name: string): string => {
  const value = env[name]?.trim()
  if (!value) throw new InstanceEnvError(`${name} is required (see docs/instance-contract.md)`)
  return value
}

/** OpenRouter when its key is set, else an OpenAI-compatible base URL, else no model (the agent says so). */
export const resolveModel = (env: NodeJS.ProcessEnv): ModelChoice => {
  const model = env.MODEL?.trim()
  const openrouterKey = env.OPENROUTER_API_KEY?.trim()
  if (openrouterKey) return { kind: "openrouter", apiKey: openrouterKey, model: model || DEFAULT_OPENROUTER_MODEL }
  const baseUrl = env.OPENAI_BASE_URL?.trim()
  if (baseUrl) {
    try {
      new URL(baseUrl)
    } catch {
      throw new InstanceEnvError(`OPENAI_BASE_URL must be a URL, got "${baseUrl}"`)
    }
    if (!model) throw new InstanceEnvError("MODEL is required with OPENAI_BASE_URL (the model id to ask that server for)")
    return { kind: "openai-compatible", baseUrl: baseUrl.replace(/\/+$/, ""), apiKey: env.OPENAI_API_KEY?.trim() || "sk-none", model }
  }
  return { kind: "none" }
}

const TOOL_PREFIXES = ["AGENTMAIL_", "TELNYX_"]

export const parseInstanceEnv = (env: NodeJS.ProcessEnv): InstanceEnv => {
  const portText = required(env, "PORT")
  const port = Number(portText)
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new InstanceEnvError(`PORT must be a TCP port, got "${portText}"`)
  const xmtpEnv = env.XMTP_ENV?.trim() || "dev"
  if (xmtpEnv !== "local" && xmtpEnv !== "dev" && xmtpEnv !== "production")
    throw new InstanceEnvError(`XMTP_ENV must be local, dev or production, got "${xmtpEnv}"`)
  const instanceToken = required(env, "INSTANCE_TOKEN")
  if (instanceToken.length < 16) throw new InstanceEnvError("INSTANCE_TOKEN must be at least 16 characters")
  const toolEnv: Record<string, string> = {}
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && TOOL_PREFIXES.some((prefix) => key.startsWith(prefix))) toolEnv[key] = value
  }
  return {
    instanceId: required(env, "INSTANCE_ID"),
    instanceToken,
    poolUrl: env.POOL_URL?.trim() ? env.POOL_URL.trim().replace(/\/+$/, "") : undefined,
    port,
    bindHost: env.BIND_HOST?.trim() || "127.0.0.1",
    stateDir: required(env, "STATE_DIR"),
    xmtpEnv,
    xmtpApiUrl: env.XMTP_API_URL?.trim() || undefined,
    model: resolveModel(env),
    toolEnv,
  }
}
