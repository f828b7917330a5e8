/**
 * The manager agent as one scoped background layer for the product's `npm start`: it needs a `SqlClient`
 * (ownership tables of `sql/0002_manager.sql`) and the pool core's `Pool`; it reads its own settings from the
 * environment (every variable is in .env.example). On start it prints its inbox id, its lobby invite and that invite as a
 * QR code.
 */
import { Effect, Layer } from "effect"
import { createRequire } from "node:module"
import { ManagerBotLayer, type ManagerBotHooks } from "./bot/ManagerBot.ts"
import { ManagerLobby, XmtpChatLayer, type XmtpChatOptions } from "./bot/XmtpChat.ts"
import { Commands } from "./commands/Commands.ts"
import { Ownership } from "./db/Ownership.ts"
import { IntentParser } from "./intent/IntentParser.ts"
import { TemplateCatalog } from "./intent/TemplateCatalog.ts"
import { ManagerSettings } from "./ManagerSettings.ts"
import { PoolAgentPoolLayer } from "./ports/PoolAgentPool.ts"

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
  Layer.provideMerge(Layer.mergeAll(Ownership.layer, IntentParser.layer, ManagerSettings.layer)),
  Layer.provideMerge(TemplateCatalog.layer),
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
