import { describe, expect, it } from "vitest"
import { buildGatewayConfig, type ConfigSlot, OPENROUTER_BASE_URL } from "./gatewayConfig.ts"
import { buildGatewayEnv } from "./gatewayEnv.ts"
import { HostEnvError, parseHostEnv } from "./hostEnv.ts"
import { configNotApplied } from "./supervisor.ts"
import { hostPaths, slotPaths } from "./layout.ts"

const host = hostPaths("/data")
const slot = (slotId: string, model: ConfigSlot["model"], tools: Record<string, string> = {}): ConfigSlot => ({ slotId, paths: slotPaths(host, slotId), model, tools })
const a = slot("slotaaaa", { kind: "openrouter", apiKey: "sk-or-key-of-a-0123456789", model: "anthropic/claude-sonnet-4.5" }, { AGENTMAIL_INBOX_ID: "a@mail.example" })
// A slot a claim already waits for: no warm-up turn.
const b = { ...slot("slotbbbb", { kind: "openai-compatible", baseUrl: "http://127.0.0.1:9999/v1/", apiKey: "", model: "fake-model" }), warmUp: false }
const c = slot("slotcccc", { kind: "none" })

describe("buildGatewayConfig", () => {
  const config = buildGatewayConfig(host, [a, b, c])

  it("makes each slot an agent entry with its own workspace, agentDir and model, bound to its own convos account", () => {
    expect(config.agents.ownership).toBe("explicit")
    expect(config.agents.entries).toEqual({
      slotaaaa: { workspace: "/data/slots/slotaaaa/workspace", agentDir: "/data/slots/slotaaaa/agent", model: "slot-slotaaaa/anthropic/claude-sonnet-4.5" },
      slotbbbb: { workspace: "/data/slots/slotbbbb/workspace", agentDir: "/data/slots/slotbbbb/agent", model: "slot-slotbbbb/fake-model" },
      slotcccc: { workspace: "/data/slots/slotcccc/workspace", agentDir: "/data/slots/slotcccc/agent", model: "slot-slotcccc/none" },
    })
    expect(config.bindings).toEqual(["slotaaaa", "slotbbbb", "slotcccc"].map((id) => ({ agentId: id, match: { channel: "convos", accountId: id } })))
    expect(config.channels.convos.accounts).toEqual({
      slotaaaa: { enabled: true, stateDir: "/data/slots/slotaaaa/convos", modelConfigured: true, warmUp: true, tools: { AGENTMAIL_INBOX_ID: "a@mail.example" } },
      slotbbbb: { enabled: true, stateDir: "/data/slots/slotbbbb/convos", modelConfigured: true, warmUp: false, tools: {} },
      slotcccc: { enabled: true, stateDir: "/data/slots/slotcccc/convos", modelConfigured: false, warmUp: true, tools: {} },
    })
  })

  it("gives each slot its own provider holding exactly its own key", () => {
    const providers = config.models.providers
    expect(Object.keys(providers)).toEqual(["slot-slotaaaa", "slot-slotbbbb", "slot-slotcccc"])
    expect(providers["slot-slotaaaa"]).toMatchObject({ baseUrl: OPENROUTER_BASE_URL, apiKey: "sk-or-key-of-a-0123456789", models: [{ id: "anthropic/claude-sonnet-4.5" }] })
    expect(providers["slot-slotbbbb"]).toMatchObject({ baseUrl: "http://127.0.0.1:9999/v1", apiKey: "sk-none" })
    expect(providers["slot-slotcccc"]).toMatchObject({ baseUrl: "http://127.0.0.1:9/v1", apiKey: "none" })
  })

  it("isolates co-tenants and reloads hot", () => {
    expect(config.tools).toMatchObject({ profile: "messaging", sessions: { visibility: "agent" }, agentToAgent: { enabled: false } })
    // No shell, files, sessions, sub-agents, cron, gateway or OpenClaw's own web/memory tools on top of the profile.
    expect(config.tools.toolSearch).toBe(false)
    expect(config.tools.deny).toEqual(["group:runtime", "group:fs", "group:sessions", "group:automation", "group:nodes", "group:ui", "group:web", "group:memory", "group:agents", "gateway"])
    expect(config.gateway.reload).toEqual({ mode: "hybrid" })
    expect(config.gateway.auth.token).toBe("${OPENCLAW_GATEWAY_TOKEN}")
  })

  it("keeps a deleted slot's account as a disabled stub, with nothing else of it", () => {
    const after = buildGatewayConfig(host, [b], [a])
    expect(after.channels.convos.accounts.slotaaaa).toEqual({ enabled: false, stateDir: "/data/slots/slotaaaa/convos", modelConfigured: false, warmUp: false, tools: {} })
    expect(Object.keys(after.agents.entries)).toEqual(["slotbbbb"])
    expect(Object.keys(after.models.providers)).toEqual(["slot-slotbbbb"])
    expect(JSON.stringify(after)).not.toContain("sk-or-key-of-a")
  })
})

const env = { HOST_ID: "hostone", HOST_TOKEN: "host-token-0123456789", HOST_CAPACITY: "8", PORT: "4100", STATE_DIR: "/data", POOL_URL: "http://127.0.0.1:9000/" }

describe("the host environment", () => {
  it("decodes with the contract, with defaults", () => {
    expect(parseHostEnv(env)).toEqual({
      hostId: "hostone",
      hostToken: "host-token-0123456789",
      capacity: 8,
      port: 4100,
      bindHost: "127.0.0.1",
      stateDir: "/data",
      poolUrl: "http://127.0.0.1:9000",
      xmtpEnv: "dev",
      xmtpApiUrl: undefined,
    })
  })

  it("names what is wrong", () => {
    expect(() => parseHostEnv({ ...env, HOST_CAPACITY: "0" })).toThrow(HostEnvError)
    expect(() => parseHostEnv({ ...env, HOST_CAPACITY: "0" })).toThrow("HOST_CAPACITY")
    expect(() => parseHostEnv({ ...env, HOST_TOKEN: "short" })).toThrow("HOST_TOKEN")
    expect(() => parseHostEnv({ ...env, HOST_ID: "default" })).toThrow("HOST_ID")
    expect(() => parseHostEnv({ ...env, XMTP_ENV: "mainnet" })).toThrow("XMTP_ENV")
  })

  it("never passes the host token, the pool URL or unrelated secrets to the gateway", () => {
    const gatewayEnv = buildGatewayEnv(parseHostEnv(env), host, { gatewayToken: "gw-token", toolsUrl: "http://127.0.0.1:4555" }, { ...env, PATH: "/bin", AWS_SECRET: "x", OPENROUTER_API_KEY: "or" })
    const text = JSON.stringify(gatewayEnv)
    for (const secret of [env.HOST_TOKEN, "127.0.0.1:9000", "AWS_SECRET", "OPENROUTER_API_KEY"]) expect(text).not.toContain(secret)
    expect(gatewayEnv).toMatchObject({ PATH: "/bin", OPENCLAW_GATEWAY_TOKEN: "gw-token", CONVOS_TOOLS_URL: "http://127.0.0.1:4555", OPENCLAW_CONFIG_PATH: "/data/openclaw/openclaw.json", XMTP_ENV: "dev" })
    // Nor a pointer at the supervisor process (its environment holds the host token): the plugin watches its parent.
    expect(Object.values(gatewayEnv)).not.toContain(String(process.pid))
    expect(gatewayEnv.CONVOS_WATCH_PARENT).toBe("1")
  })

  it("caps the gateway's malloc arenas unless the operator chose a number", () => {
    const links = { gatewayToken: "gw-token", toolsUrl: "http://127.0.0.1:4555" }
    expect(buildGatewayEnv(parseHostEnv(env), host, links, env).MALLOC_ARENA_MAX).toBe("2")
    expect(buildGatewayEnv(parseHostEnv(env), host, links, { ...env, MALLOC_ARENA_MAX: "4" }).MALLOC_ARENA_MAX).toBe("4")
  })
})

describe("configNotApplied", () => {
  it("is true only when, some seconds after a write, the gateway runs other accounts than written", () => {
    expect(configNotApplied(["slotaaaa"], ["slotaaaa", "slotbbbb"], 11_000)).toBe(true)
    expect(configNotApplied(["slotaaaa", "slotbbbb"], ["slotaaaa"], 11_000)).toBe(true)
    expect(configNotApplied(["slotbbbb", "slotaaaa"], ["slotaaaa", "slotbbbb"], 11_000)).toBe(false)
    // Still within the time a reload takes, or the plugin cannot tell yet.
    expect(configNotApplied(["slotaaaa"], ["slotaaaa", "slotbbbb"], 1_000)).toBe(false)
    expect(configNotApplied(null, ["slotaaaa"], 60_000)).toBe(false)
  })
})
