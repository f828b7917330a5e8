import { defineSetupPluginEntry } from "openclaw/plugin-sdk/channel-core"
import { convosChannel } from "./index.ts"

export default defineSetupPluginEntry(convosChannel)
