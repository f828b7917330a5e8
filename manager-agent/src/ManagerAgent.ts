/**
 * The manager agent as one scoped background layer for the product's `npm start`: it needs a `SqlClient`
 * (ownership tables of `sql/0002_manager.sql`) and the pool core's `Pool`; it reads its own settings from the
 * environment (see `ManagerAgentConfigDoc`). On start it prints its inbox id, its lobby invite and that invite as a
 * QR code.
 */
import { Config, Effect, Layer } from "effect"
import { createRequire } from "node:module"
import { ManagerBotLayer, type ManagerBotHooks } from "./bot/ManagerBot.ts"
import { ManagerLobby, XmtpChatLayer, type XmtpChatOptions } from "./bot/XmtpChat.ts"
import { Commands } from "./commands/Commands.ts"
import { Ownership } from "./db/Ownership.ts"
import { IntentParser } from "./intent/IntentParser.ts"
import { TemplateCatalog } from "./intent/TemplateCatalog.ts"
import { ManagerSettings } from "./ManagerSettings.ts"
import { PoolAgentPoolLayer } from "./ports/PoolAgentPool.ts"

/** Every environment variable the manager reads (all optional). */
export const ManagerAgentConfigDoc = {
  MANAGER_ENABLED: "false to run the pool without the manager (default true)",
  MANAGER_NAME: "display name, and the name members mention (default Manager)",
  MANAGER_STATE_DIR: "identity, XMTP database and lobby id (default .data/manager)",
  XMTP_ENV: "dev | production | local (default dev)",
  XMTP_API_URL: "XMTP gRPC URL override (tests: the fake node)",
  MANAGER_MAX_AGENTS_PER_CONVERSATION: "default 5",
  MANAGER_MAX_SPAWNS_PER_HOUR: "per sender, default 10",
  MANAGER_MAX_SPAWNS_PER_HOUR_NEW_SENDER: "per sender never seen before (no spawn before this hour), default 3",
  MANAGER_MAX_SPAWNS_PER_HOUR_TOTAL: "all senders together, default 60",
  MANAGER_MAX_LIVE_AGENTS: "live agents in all conversations, default 100",
  MANAGER_MODEL: "model id; unset = rule-based intents only",
  MANAGER_MODEL_BASE_URL: "OpenAI-compatible base URL (falls back to OPENAI_BASE_URL)",
  MANAGER_MODEL_API_KEY: "its key (falls back to OPENAI_API_KEY); never logged",
  MANAGER_MODEL_TIMEOUT: "per attempt, default 6 seconds",
  MANAGER_MODEL_RETRIES: "default 1",
} as const

const require = createRequire(import.meta.url)

/** The invite as a terminal QR code; the link alone when the renderer is missing. */
export const qrCode = (text: string): Promise<string> =>
  new Promise((resolve) => {
    try {
      const qrcode = require("qrcode") as {
        toString(text: string, options: { type: "terminal"; small: boolean }, done: (error: unknown, out: string) => void): void
      }
      qrcode.toString(text, { type: "terminal", small: true }, (error, out) => resolve(error ? "" : out))
    } catch {
      resolve("")
    }
  })

const banner = Layer.effectDiscard(
  Effect.gen(function* () {
    const lobby = yield* ManagerLobby
    const qr = yield* Effect.promise(() => qrCode(lobby.inviteUrl))
    process.stdout.write(
      [`manager agent inbox id: ${lobby.inboxId}`, `manager lobby invite:   ${lobby.inviteUrl}`, qr].join("\n") + "\n",
    )
  }),
)

/** Everything but the chat and the pool: the command handler and what it needs, from the environment. */
export const ManagerCoreLayer = Commands.layer.pipe(
  Layer.provideMerge(Layer.mergeAll(Ownership.layer, IntentParser.layer, ManagerSettings.layer, TemplateCatalog.layer)),
  Layer.provide(TemplateCatalog.layer),
)

/**
 * The manager, running in the background for as long as the layer lives. Needs `SqlClient` and the pool core's
 * `Pool`; exposes its `ManagerLobby` (inbox id, invite) for whoever wants to show it.
 */
export const ManagerAgentLayer = (options: { readonly chat?: XmtpChatOptions; readonly hooks?: ManagerBotHooks } = {}) =>
  Layer.mergeAll(ManagerBotLayer(options.hooks), banner).pipe(
    Layer.provide(ManagerCoreLayer),
    Layer.provideMerge(Layer.mergeAll(XmtpChatLayer(options.chat), PoolAgentPoolLayer)),
  )

/** `ManagerAgentLayer()` unless `MANAGER_ENABLED=false` (then nothing starts): what the product's `npm start` wires in. */
export const ManagerAgentFromConfig = Layer.unwrap(
  Effect.map(Config.Boolean("MANAGER_ENABLED").pipe(Config.withDefault(true)), (enabled) =>
    enabled ? Layer.empty.pipe(Layer.provide(ManagerAgentLayer())) : Layer.empty,
  ),
)
