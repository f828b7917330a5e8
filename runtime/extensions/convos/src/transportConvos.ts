/**
 * The production transport: the `convos/` layer (in-process XMTP) behind the plugin's narrow interface.
 * Also keeps what convos/ does not hand us per message: sender display names and whether a sender is an agent
 * (members.ts: from Convos profile updates and snapshots, names also from the group's appData).
 */
import { createRequire } from "node:module"
import { pathToFileURL } from "node:url"
import type { ConvosMessageEvent } from "../../../../convos/index.ts"
import { memberDirectory } from "./members.ts"
import type { ConvosSettings } from "./settings.ts"
import type { ConvosTransport, TransportContent, TransportHandlers, TransportMessage } from "./transport.ts"

/** A pending join keeps waiting for the creator's app this long after the provision answered. */
const PENDING_JOIN_MAX_WAIT_MS = 7 * 24 * 60 * 60 * 1000

/** Maps a convos/ event to the plugin's content shape. Pure. */
export const toTransportContent = (event: ConvosMessageEvent): TransportContent => {
  switch (event.kind) {
    case "text":
    case "markdown":
      return { kind: "text", text: event.text ?? "" }
    case "reply":
      return event.referenceMessageId
        ? { kind: "reply", text: event.text ?? "", inReplyTo: event.referenceMessageId }
        : { kind: "text", text: event.text ?? "" }
    case "reaction":
      return event.reaction && event.referenceMessageId
        ? { kind: "reaction", emoji: event.reaction.emoji, action: event.reaction.action, reference: event.referenceMessageId }
        : { kind: "other", typeId: "reaction" }
    case "attachment":
    case "remote_attachment": {
      const raw = event.raw as { data?: unknown } | undefined
      const data = raw && raw.data instanceof Uint8Array ? raw.data : undefined
      return {
        kind: "attachment",
        filename: event.attachment?.filename ?? "attachment",
        mimeType: event.attachment?.mimeType ?? "application/octet-stream",
        ...(data ? { data } : {}),
      }
    }
    case "group_updated":
      return {
        kind: "group_updated",
        addedInboxIds: event.groupUpdate?.addedInboxIds ?? [],
        removedInboxIds: [...(event.groupUpdate?.removedInboxIds ?? []), ...(event.groupUpdate?.leftInboxIds ?? [])],
      }
    default:
      return { kind: "other", typeId: event.kind, ...(event.fallback ? { fallback: event.fallback } : {}) }
  }
}

type ConvosModule = typeof import("../../../../convos/index.ts")

/**
 * Loads `convos/` with Node's own module loader (TypeScript through tsx's scoped `tsImport`). The gateway loads
 * plugins through jiti, under which the XMTP native binding cannot find its `.node` file; a `Function`-built
 * `import()` is out of jiti's reach, and `tsImport` keeps tsx's hooks to this one import tree. (Node's own
 * `--experimental-transform-types` was tried: inside the gateway the import came back without its exports.)
 */
const loadConvos = async (modulePath: string): Promise<ConvosModule> => {
  const nativeImport = new Function("specifier", "return import(specifier)") as (specifier: string) => Promise<unknown>
  // Resolved from the convos/ layer's location: the gateway runs this plugin from a copy in its temp dir.
  const tsxApi = createRequire(modulePath).resolve("tsx/esm/api")
  const { tsImport } = (await nativeImport(pathToFileURL(tsxApi).href)) as { tsImport: (specifier: string, parent: string) => Promise<unknown> }
  const url = pathToFileURL(modulePath).href
  return (await tsImport(url, url)) as ConvosModule
}

/** `load` is for tests, which import `convos/` themselves (the loader above needs a real Node module context). */
export const createConvosTransport = async (
  settings: Pick<ConvosSettings, "convosModulePath" | "stateDir" | "xmtpEnv" | "xmtpApiUrl">,
  load: (modulePath: string) => Promise<ConvosModule> = loadConvos,
): Promise<ConvosTransport> => {
  const { ConvosClient } = await load(settings.convosModulePath)
  const client = await ConvosClient.open({
    stateDir: settings.stateDir,
    env: settings.xmtpEnv,
    ...(settings.xmtpApiUrl ? { apiUrl: settings.xmtpApiUrl } : {}),
    // Only the conversation the pool sends us to: unexpected adds are ignored by the layer itself.
    welcomePolicy: "expected_only",
    onError: (error, context) => console.error(`[convos] ${context}: ${error instanceof Error ? error.message : String(error)}`),
  })
  const members = memberDirectory()
  const loadedProfiles = new Set<string>()
  const unsubscribes: Array<() => void> = []

  /** Names from the group's appData, once per conversation (profile updates keep them fresh afterwards). */
  const loadProfiles = async (conversationId: string) => {
    if (loadedProfiles.has(conversationId)) return
    loadedProfiles.add(conversationId)
    try {
      const info = await client.groupInfo(conversationId)
      for (const profile of info.profiles) if (profile.name) members.learnNameIfUnknown(conversationId, profile.inboxId, profile.name)
    } catch {
      // A DM or a group we cannot read: names fall back to short inbox ids.
    }
  }

  const toMessage = async (event: ConvosMessageEvent): Promise<TransportMessage | undefined> => {
    if (event.isDm) return undefined
    const { conversationId, senderInboxId } = event
    if (event.kind === "profile_update" && event.profile) {
      members.learn(conversationId, senderInboxId, event.profile)
      return undefined
    }
    if (event.kind === "profile_snapshot" && event.profileSnapshot) {
      for (const profile of event.profileSnapshot.profiles) members.learn(conversationId, profile.inboxId, profile)
      return undefined
    }
    // Who left is no longer one of the conversation's agents.
    for (const inboxId of [...(event.groupUpdate?.removedInboxIds ?? []), ...(event.groupUpdate?.leftInboxIds ?? [])]) members.forget(conversationId, inboxId)
    if (!members.nameOf(conversationId, senderInboxId)) await loadProfiles(conversationId)
    const senderName = members.nameOf(conversationId, senderInboxId)
    return {
      id: event.id,
      conversationId,
      senderInboxId,
      ...(senderName ? { senderName } : {}),
      ...(members.isAgent(conversationId, senderInboxId) ? { senderIsAgent: true } : {}),
      otherAgentInboxIds: members.agentsExcept(conversationId, [senderInboxId, client.inboxId]),
      sentAt: event.sentAt,
      content: toTransportContent(event),
    }
  }

  return {
    inboxId: client.inboxId,
    installationId: client.installationId,
    async start(handlers: TransportHandlers) {
      unsubscribes.push(
        client.onMessage(async (event) => {
          const message = await toMessage(event)
          if (message) handlers.onMessage(message)
        }),
        client.onJoinRequest((event) => {
          if (event.verdict.kind === "accept")
            handlers.onMembersJoined({ conversationId: event.verdict.conversationId, inboxIds: [event.verdict.joinerInboxId] })
        }),
        client.onConversation((event) => {
          if (event.type === "joined" && event.via === "added") {
            handlers.onWelcome({ conversationId: event.conversationId, addedBy: event.addedByInboxId ?? null })
          } else if (event.type === "ignored") {
            handlers.onWelcome({ conversationId: event.conversationId, addedBy: event.addedByInboxId })
          } else if (event.type === "removed") {
            handlers.onConversationEnded({ conversationId: event.conversationId, reason: "removed" })
          }
        }),
      )
    },
    async stop() {
      for (const unsubscribe of unsubscribes.splice(0)) unsubscribe()
      await client.close()
    },
    expectAdd(conversationId, addedBy) {
      const controller = new AbortController()
      client
        .expectAdd({ conversationId, addedBy, signal: controller.signal, timeoutMs: PENDING_JOIN_MAX_WAIT_MS })
        // The welcome itself is delivered through onConversation; this promise only ends the expectation.
        .catch(() => undefined)
      return () => controller.abort()
    },
    async createConversation({ name, profileName }) {
      const created = await client.createConversation({ name, permissions: "all_members", profile: { name: profileName, isAgent: true } })
      return { conversationId: created.conversationId, inviteUrl: created.inviteUrl }
    },
    async joinByInvite(inviteUrl, { profileName, waitMs }) {
      const result = await client.joinByInvite(inviteUrl, { timeoutMs: waitMs, profile: { name: profileName, isAgent: true } })
      if (result.status === "joined") return { status: "joined", conversationId: result.conversationId }
      return { status: "pending", accepted: result.waitForJoin({ timeoutMs: PENDING_JOIN_MAX_WAIT_MS }).then((r) => r.conversationId) }
    },
    async setProfileName(conversationId, name) {
      await client.setProfile(conversationId, { name, isAgent: true })
    },
    async replay(conversationId, sinceMs) {
      await client.replayMessages(conversationId, sinceMs)
    },
    async leave(conversationId) {
      await client.leave(conversationId)
    },
    async checkJoinRequests() {
      await client.checkJoinRequests()
    },
    async hasOtherMembers(conversationId) {
      const info = await client.groupInfo(conversationId)
      return info.members.some((member) => member.inboxId.toLowerCase() !== client.inboxId.toLowerCase())
    },
    async sendText(conversationId, text, options) {
      const messageId = await client.sendText(conversationId, text, options?.replyTo !== undefined ? { replyTo: options.replyTo } : {})
      return { messageId }
    },
    async react(conversationId, messageId, emoji, action) {
      await client.react(conversationId, messageId, emoji, action)
    },
  }
}
