/**
 * Entry of the `convos` channel plugin: the channel (one account per agent slot), the supervisor's control routes and
 * each slot's own email/SMS tools. All state lives in the one `ConvosAccounts` registry made here.
 */
import { defineChannelPluginEntry } from "openclaw/plugin-sdk/channel-core"
import { keepAgentExecutionsOpen } from "./src/agentExecutions.ts"
import { type ChannelDeps, createConvosAccounts, createConvosChannel, ensureAccountSync } from "./src/channel.ts"
import { contractLoader } from "./src/contract.ts"
import { watchSupervisor } from "./src/parentWatch.ts"
import { CONTROL_PREFIX, handleControl } from "./src/routes.ts"
import { accountSettingsOf, type HostSettings, readHostSettings } from "./src/settings.ts"
import { MEMORY_TOOL_NAMES } from "./src/memory.ts"
import { REMINDER_TOOL_NAMES } from "./src/reminders.ts"
import { allowOriginsOf, turnTools } from "./src/skills.ts"
import { EMAIL_TOOL_NAMES, SMS_TOOL_NAMES } from "./src/tools.ts"
import { WEB_TOOL_NAMES } from "./src/webTools.ts"
import { createConvosTransport } from "./src/transportConvos.ts"

const accounts = createConvosAccounts()
let host: HostSettings | undefined
/** Read once, when first needed (the setup entry and CLI commands load this module without a supervisor). */
const hostSettings = (): HostSettings => (host ??= readHostSettings())
const loadContract = contractLoader()
const allowOrigins = allowOriginsOf()

const channelDeps: ChannelDeps = {
  accounts,
  hostSettings,
  decoders: (settings) => loadContract(settings.contractModulePath),
  createTransport: createConvosTransport,
}
export const convosChannel = createConvosChannel(channelDeps)

export default defineChannelPluginEntry({
  id: "convos",
  name: "Convos",
  description: "Convos (XMTP) group chats for OpenClaw agents",
  plugin: convosChannel,
  setRuntime(runtime) {
    accounts.runtime = runtime
  },
  registerFull(api) {
    if (keepAgentExecutionsOpen() !== "applied") console.warn("[convos] OpenClaw's agent execution registry has an unexpected shape: agents' databases reopen on every switch")
    // The supervisor spawns the gateway itself (OPENCLAW_NO_RESPAWN), so it is this process's parent.
    const supervisorPid = process.env.CONVOS_WATCH_PARENT === "1" ? process.ppid : 0
    if (supervisorPid > 1) {
      watchSupervisor(supervisorPid, () => {
        console.error("[convos] the supervisor is gone; stopping this gateway")
        process.kill(process.pid, "SIGTERM")
      })
    }
    api.registerHttpRoute({
      path: CONTROL_PREFIX,
      match: "prefix",
      auth: "plugin",
      handler: (req, res) => {
        // A host whose gateway started with no slot has no account start to begin the sync from.
        ensureAccountSync(channelDeps)
        return handleControl(req, res, { token: process.env.OPENCLAW_GATEWAY_TOKEN ?? "", accounts })
      },
    })
    // Per turn, the tools of the calling agent's own slot: bound from the turn's account (never chosen by the model;
    // it must be the agent's own), and only those of the skills its claim gave it that its slot has the resources for
    // (openclaw.plugin.json declares all).
    api.registerTool(
      (ctx) => {
        const slotId = ctx.agentAccountId
        if (!slotId || ctx.agentId !== slotId) return null
        // The factory may run in another load of this plugin (no runtime set): the turn's own config is the source.
        const config = ctx.getRuntimeConfig?.() ?? ctx.runtimeConfig ?? ctx.config
        const account = accountSettingsOf(config, slotId)
        if (!account?.enabled) return null
        const { toolsUrl, controlToken } = hostSettings()
        return turnTools({ slotId, stateDir: account.stateDir, tools: account.tools, config, toolsUrl, gatewayToken: controlToken }, allowOrigins)
      },
      { names: [...EMAIL_TOOL_NAMES, ...SMS_TOOL_NAMES, ...WEB_TOOL_NAMES, ...MEMORY_TOOL_NAMES, ...REMINDER_TOOL_NAMES] },
    )
  },
})
