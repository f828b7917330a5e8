/** The manager's own settings (name and quotas), read from the environment once, in this layer. */
import { Config, Context, Layer } from "effect"
import { defaultLimits, type Limits } from "./commands/policy.ts"
import type { TrafficLimits } from "./commands/traffic.ts"

export interface ManagerSettingsShape {
  /** Display name, also what group members mention ("@Manager …"). */
  readonly name: string
  readonly limits: Limits
  /** Loop limits and reply budget; `defaultTrafficLimits` when absent. */
  readonly traffic?: TrafficLimits | undefined
}

/** `MANAGER_NAME`: one definition for the settings here and the chat's profile name (bot/XmtpChat.ts). */
export const managerNameConfig = Config.String("MANAGER_NAME").pipe(Config.withDefault("Manager"))

export const ManagerSettingsConfig: Config.Config<ManagerSettingsShape> = Config.all({
  name: managerNameConfig,
  agentsPerConversation: Config.Int("MANAGER_MAX_AGENTS_PER_CONVERSATION").pipe(
    Config.withDefault(defaultLimits.agentsPerConversation),
  ),
  spawnsPerSenderPerHour: Config.Int("MANAGER_MAX_SPAWNS_PER_HOUR").pipe(Config.withDefault(defaultLimits.spawnsPerSenderPerHour)),
  spawnsPerNewSenderPerHour: Config.Int("MANAGER_MAX_SPAWNS_PER_HOUR_NEW_SENDER").pipe(
    Config.withDefault(defaultLimits.spawnsPerNewSenderPerHour),
  ),
  spawnsPerHour: Config.Int("MANAGER_MAX_SPAWNS_PER_HOUR_TOTAL").pipe(Config.withDefault(defaultLimits.spawnsPerHour)),
  liveAgents: Config.Int("MANAGER_MAX_LIVE_AGENTS").pipe(Config.withDefault(defaultLimits.liveAgents)),
}).pipe(
  Config.map(({ name, ...limits }) => ({ name, limits })),
)

export class ManagerSettings extends Context.Service<ManagerSettings, ManagerSettingsShape>()("manager-agent/ManagerSettings") {
  static readonly layer = Layer.effect(ManagerSettings, ManagerSettingsConfig)
  static readonly layerOf = (settings: ManagerSettingsShape) => Layer.succeed(ManagerSettings, settings)
}
