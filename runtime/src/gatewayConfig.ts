/**
 * The OpenClaw gateway config of a host (openclaw 2026.9.6), built from the host's slots. Pure. The supervisor is its
 * only writer and writes it whole and atomically (layout.ts); the gateway hot-reloads it (`gateway.reload.mode:
 * "hybrid"`). Validation is strict: an unknown key stops the gateway from booting, and a bad write is refused whole.
 *
 * A slot is three entries sharing its id: `agents.entries.<id>` (own workspace and agentDir, model
 * `slot-<id>/<model>`), `channels.convos.accounts.<id>` (own XMTP state dir) and a binding between them; plus one
 * provider `models.providers.slot-<id>` holding that slot's own key. Agents, models, bindings and tools apply without
 * any restart; a change under `channels.convos.accounts` only swaps the gateway's config snapshot, and the plugin
 * starts, stops or restarts that one account itself (extensions/convos/src/accountSync.ts). A deleted slot's account
 * is first disabled (it stops while its agent entry stays) and stays as a disabled stub until the next gateway start
 * (`retired`).
 */
import type { SlotModel } from "../../contract/index.ts"
import type { HostPaths, SlotPaths } from "./layout.ts"

export const OPENROUTER_BASE_URL = "https://openrouter.ai/api/v1"
/** Used as the model endpoint of a slot without a model: never called (the plugin answers without the model). */
const NO_MODEL_BASE_URL = "http://127.0.0.1:9/v1"

/**
 * The tools the convos plugin may register, each only for the agents that have it (the skill tag its claim gave it, and
 * for email and SMS also the resource: extensions/convos/src/skills.ts).
 */
export const PLUGIN_TOOL_NAMES = [
  "email_send",
  "email_inbox",
  "email_read",
  "sms_send",
  "search_web",
  "web_read",
  "memory_save",
  "memory_list",
  "memory_forget",
  "reminder_set",
  "reminder_list",
  "reminder_cancel",
] as const

/**
 * OpenClaw's own tools an agent must never get, denied on top of the profile (deny wins): shell and files, other
 * sessions and agents (sub-agents, spawning, cross-session sends), the gateway itself, automation (cron: reminders are
 * the plugin's, scoped to the agent's own conversation), OpenClaw's web and memory tools (replaced by the plugin's
 * per-slot ones), devices and UI.
 */
export const DENIED_TOOLS = [
  "group:runtime",
  "group:fs",
  "group:sessions",
  "group:automation",
  "group:nodes",
  "group:ui",
  "group:web",
  "group:memory",
  "group:agents",
  "gateway",
] as const

export interface ConfigSlot {
  readonly slotId: string
  readonly paths: SlotPaths
  readonly model: SlotModel
  readonly tools: Readonly<Record<string, string>>
  /** false: no warm-up turn before the slot is ready (a claim is waiting for it; contract `SlotSpec.warmUp`). */
  readonly warmUp?: boolean
}

export const providerId = (slotId: string) => `slot-${slotId}`

const endpointOf = (model: SlotModel): { readonly baseUrl: string; readonly apiKey: string; readonly model: string } => {
  switch (model.kind) {
    case "openrouter":
      return { baseUrl: OPENROUTER_BASE_URL, apiKey: model.apiKey, model: model.model }
    case "openai-compatible":
      return { baseUrl: model.baseUrl.replace(/\/+$/, ""), apiKey: model.apiKey === "" ? "sk-none" : model.apiKey, model: model.model }
    case "none":
      return { baseUrl: NO_MODEL_BASE_URL, apiKey: "none", model: "none" }
  }
}

const providerOf = (model: SlotModel) => {
  const endpoint = endpointOf(model)
  return {
    baseUrl: endpoint.baseUrl,
    apiKey: endpoint.apiKey,
    api: "openai-completions",
    models: [
      {
        id: endpoint.model,
        name: endpoint.model,
        reasoning: false,
        input: ["text", "image"],
        cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
        contextWindow: 128000,
        maxTokens: 4096,
      },
    ],
  }
}

/** What the convos plugin reads of one account (openclaw.plugin.json declares the same shape). */
export interface ConvosAccountConfig {
  readonly enabled: boolean
  readonly stateDir: string
  readonly modelConfigured: boolean
  readonly warmUp: boolean
  readonly tools: Readonly<Record<string, string>>
}

export const buildGatewayConfig = (host: HostPaths, slots: ReadonlyArray<ConfigSlot>, retired: ReadonlyArray<ConfigSlot> = []) => {
  const accounts: Record<string, ConvosAccountConfig> = {}
  for (const slot of retired) accounts[slot.slotId] = { enabled: false, stateDir: slot.paths.convosStateDir, modelConfigured: false, warmUp: false, tools: {} }
  for (const slot of slots) {
    accounts[slot.slotId] = { enabled: true, stateDir: slot.paths.convosStateDir, modelConfigured: slot.model.kind !== "none", warmUp: slot.warmUp !== false, tools: { ...slot.tools } }
  }
  return {
    gateway: {
      mode: "local",
      bind: "loopback",
      auth: { mode: "token", token: "${OPENCLAW_GATEWAY_TOKEN}" },
      // Lean: no browser UI, terminal or CLI agents on a host.
      controlUi: { enabled: false },
      terminal: { enabled: false },
      cliAgents: { enabled: false },
      // Slots are added and removed while the gateway runs.
      reload: { mode: "hybrid" },
    },
    logging: { file: host.logFile },
    agents: {
      // Every agent is declared; a message no binding routes is dropped, never given to some other agent.
      ownership: "explicit",
      defaults: {
        workspace: host.workspaceDir,
        // We ship our own AGENTS.md / SOUL.md / IDENTITY.md.
        skipBootstrap: true,
        heartbeat: { every: "0m" },
      },
      entries: Object.fromEntries(
        slots.map((slot) => [slot.slotId, { workspace: slot.paths.workspaceDir, agentDir: slot.paths.agentDir, model: `${providerId(slot.slotId)}/${endpointOf(slot.model).model}` }]),
      ),
    },
    bindings: slots.map((slot) => ({ agentId: slot.slotId, match: { channel: "convos", accountId: slot.slotId } })),
    // One provider per slot: each agent's model calls carry its own key (its own capped OpenRouter key when it has one).
    models: {
      mode: "merge",
      catalogRefresh: { enabled: false },
      providers: Object.fromEntries(slots.map((slot) => [providerId(slot.slotId), providerOf(slot.model)])),
    },
    // Group agents only talk: no shell, no file tools, no session or agent tools. Co-tenants never see each other:
    // session visibility is the agent's own, and no agent may message another. The plugin's tools are added by name; a
    // slot gets them only when it has the resource or the skill.
    tools: {
      profile: "messaging",
      alsoAllow: [...PLUGIN_TOOL_NAMES],
      deny: [...DENIED_TOOLS],
      // Every tool the agent has is offered directly: no tool_search / tool_call surface in front of a hidden catalog.
      toolSearch: false,
      sessions: { visibility: "agent" },
      agentToAgent: { enabled: false },
    },
    // No skill files are shipped: OpenClaw lists them only to agents with its `read` tool, which these agents lack, so
    // the email and SMS rules are in the plugin's prompt (extensions/convos/src/guides.ts). No watcher either (with the
    // config watcher polling, a skills watcher would poll every workspace too).
    skills: { load: { watch: false } },
    browser: { enabled: false },
    cron: { enabled: false },
    update: { auto: { enabled: false } },
    discovery: { mdns: { mode: "off" } },
    hooks: { internal: { enabled: false } },
    diagnostics: { enabled: false },
    plugins: {
      allow: ["convos"],
      slots: { memory: "none" },
      load: { paths: [host.pluginDir] },
      entries: { convos: { enabled: true } },
    },
    channels: { convos: { enabled: true, accounts } },
  }
}
