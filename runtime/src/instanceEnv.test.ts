import { describe, expect, it } from "vitest"
import { buildGatewayEnv } from "./gatewayEnv.ts"
import { DEFAULT_OPENROUTER_MODEL, InstanceEnvError, OPENROUTER_BASE_URL, parseInstanceEnv, resolveModel } from "./instanceEnv.ts"

const base = { INSTANCE_ID: "i-1", INSTANCE_TOKEN: "t".repeat(32), PORT: "4100", STATE_DIR: "/data/i-1", POOL_URL: "http://127.0.0.1:9000/" }
const paths = {
  openclawStateDir: "/data/i-1/openclaw",
  convosStateDir: "/data/i-1/convos",
  workspaceDir: "/data/i-1/openclaw/workspace",
  pluginDir: "/app/runtime/extensions/convos",
  convosModulePath: "/app/convos/index.ts",
  logFile: "/data/i-1/logs/gateway.log",
  tmpDir: "/data/i-1/tmp",
}

describe("parseInstanceEnv", () => {
  it("reads the contract environment with defaults", () => {
    const env = parseInstanceEnv({ ...base, AGENTMAIL_INBOX_ID: "box", UNRELATED: "x" })
    expect(env).toMatchObject({ instanceId: "i-1", port: 4100, bindHost: "127.0.0.1", xmtpEnv: "dev", poolUrl: "http://127.0.0.1:9000", model: { kind: "none" } })
    expect(env.toolEnv).toEqual({ AGENTMAIL_INBOX_ID: "box" })
  })
  it("names the variable to fix", () => {
    expect(() => parseInstanceEnv({ ...base, INSTANCE_TOKEN: "" })).toThrow(/INSTANCE_TOKEN is required/)
    expect(() => parseInstanceEnv({ ...base, PORT: "http" })).toThrow(/PORT must be a TCP port/)
    expect(() => parseInstanceEnv({ ...base, XMTP_ENV: "mainnet" })).toThrow(/XMTP_ENV must be/)
    expect(() => parseInstanceEnv({ ...base, INSTANCE_TOKEN: "short" })).toThrow(InstanceEnvError)
  })
})

describe("resolveModel", () => {
  it("prefers OpenRouter, then an OpenAI-compatible URL, else none", () => {
    expect(resolveModel({ OPENROUTER_API_KEY: "or-key", OPENAI_BASE_URL: "http://x/v1", MODEL: "" })).toEqual({ kind: "openrouter", apiKey: "or-key", model: DEFAULT_OPENROUTER_MODEL })
    expect(resolveModel({ OPENAI_BASE_URL: "http://127.0.0.1:5/v1/", MODEL: "m" })).toEqual({ kind: "openai-compatible", baseUrl: "http://127.0.0.1:5/v1", apiKey: "sk-none", model: "m" })
    expect(resolveModel({})).toEqual({ kind: "none" })
  })
  it("requires MODEL with an OpenAI-compatible URL and a valid URL", () => {
    expect(() => resolveModel({ OPENAI_BASE_URL: "http://x/v1" })).toThrow(/MODEL is required/)
    expect(() => resolveModel({ OPENAI_BASE_URL: "not a url", MODEL: "m" })).toThrow(/OPENAI_BASE_URL must be a URL/)
  })
})

describe("buildGatewayEnv", () => {
  it("never hands the instance token or pool URL to the gateway, and does not inherit the parent environment", () => {
    const instance = parseInstanceEnv({ ...base, OPENROUTER_API_KEY: "or-secret", AGENTMAIL_INBOX_ID: "agent@mail.example" })
    const env = buildGatewayEnv(instance, paths, { gatewayToken: "gw-token", toolsUrl: "http://127.0.0.1:4555" }, { PATH: "/bin", INSTANCE_TOKEN: base.INSTANCE_TOKEN, AWS_SECRET: "x", OPENROUTER_API_KEY: "or-secret" })
    const values = Object.values(env).join("\n")
    expect(values).not.toContain(base.INSTANCE_TOKEN)
    expect(values).not.toContain("127.0.0.1:9000")
    expect(env).not.toHaveProperty("AWS_SECRET")
    // Provider-named variables make OpenClaw try to install provider plugins from the network: ours are renamed.
    expect(env).not.toHaveProperty("OPENROUTER_API_KEY")
    expect(env).toMatchObject({
      PATH: "/bin",
      CONVOS_LLM_BASE_URL: OPENROUTER_BASE_URL,
      CONVOS_LLM_API_KEY: "or-secret",
      CONVOS_MODEL_CONFIGURED: "1",
      OPENCLAW_GATEWAY_TOKEN: "gw-token",
      // Email and SMS go through the supervisor, which holds the instance token.
      CONVOS_TOOLS_URL: "http://127.0.0.1:4555",
      // The plugin offers a tool only for a resource the instance has.
      AGENTMAIL_INBOX_ID: "agent@mail.example",
      OPENCLAW_STATE_DIR: paths.openclawStateDir,
      OPENCLAW_OFFLINE: "1",
      TMPDIR: paths.tmpDir,
    })
  })
  it("marks the model as not configured when there is none", () => {
    const env = buildGatewayEnv(parseInstanceEnv(base), paths, { gatewayToken: "gw", toolsUrl: "http://127.0.0.1:4555" }, {})
    expect(env.CONVOS_MODEL_CONFIGURED).toBe("0")
  })
})
