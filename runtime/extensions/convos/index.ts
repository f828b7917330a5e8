/** Entry of the `convos` channel plugin: the channel, the supervisor's control routes and the agent's email/SMS tools. */
import { defineChannelPluginEntry } from "openclaw/plugin-sdk/channel-core"
import { channelState, createConvosChannel } from "./src/channel.ts"
import { CONTROL_PREFIX, handleControl } from "./src/routes.ts"
import { watchSupervisor } from "./src/parentWatch.ts"
import { readSettings } from "./src/settings.ts"
import { agentTools } from "./src/tools.ts"
import { createConvosTransport } from "./src/transportConvos.ts"

export const convosChannel = createConvosChannel({ settings: () => readSettings(), createTransport: createConvosTransport })

export default defineChannelPluginEntry({
  id: "convos",
  name: "Convos",
  description: "Convos (XMTP) group chats for OpenClaw agents",
  plugin: convosChannel,
  setRuntime(runtime) {
    channelState.runtime = runtime
  },
  registerFull(api) {
    const supervisorPid = Number(process.env.CONVOS_SUPERVISOR_PID)
    if (Number.isInteger(supervisorPid) && supervisorPid > 0) {
      watchSupervisor(supervisorPid, () => {
        console.error("[convos] the supervisor is gone; stopping this gateway")
        process.kill(process.pid, "SIGTERM")
      })
    }
    api.registerHttpRoute({
      path: CONTROL_PREFIX,
      match: "prefix",
      auth: "plugin",
      handler: (req, res) =>
        handleControl(req, res, {
          token: process.env.OPENCLAW_GATEWAY_TOKEN ?? "",
          instance: () => channelState.instance,
          startupError: () => channelState.startupError,
        }),
    })
    // Only the tools of the resources this instance has (openclaw.plugin.json declares all of them).
    for (const tool of agentTools(process.env)) api.registerTool(tool)
  },
})
