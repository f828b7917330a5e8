/**
 * The production `Chat`, over `convos/`'s `ConvosClient`: the manager's own identity and XMTP client, its lobby
 * conversation with a Convos invite, join requests to its conversations (accepted by the client), and join
 * requests of its own for invite links it is given. Every XMTP detail stays behind this file.
 */
import { Config, Context, Duration, Effect, Layer, Option, Queue, Schema, Stream, type Cause } from "effect"
import { readFile, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { MemberKind } from "../../../convos/contentTypes.ts"
import { ConvosClient, ConvosClientError } from "../../../convos/client.ts"
import type { ConvosEnv } from "../../../convos/invite.ts"
import type { ConvosMessageEvent } from "../../../convos/events.ts"
import { Chat, ChatError, type ChatEvent } from "../ports/Chat.ts"
import { managerNameConfig } from "../ManagerSettings.ts"

export interface XmtpChatOptions {
  readonly stateDir: string
  readonly env: ConvosEnv
  /** Overrides the network's gRPC URL (the fake node in tests). */
  readonly apiUrl?: string | undefined
  /** Profile name and lobby name. */
  readonly name: string
  /** How long `joinByInvite` waits for the creator to accept before answering `pending`. */
  readonly joinWait?: Duration.Duration
  /**
   * How often to re-read every conversation for messages the live stream lost. Each sweep syncs every group the
   * manager is in, so it is slower than an agent's (one conversation) to stay clear of the network's rate limits.
   */
  readonly catchUpEvery?: Duration.Duration
}

export const XmtpChatConfig = Config.all({
  stateDir: Config.String("MANAGER_STATE_DIR").pipe(Config.withDefault(".data/manager")),
  env: Config.Literals(["dev", "production", "local"], "XMTP_ENV").pipe(Config.withDefault("dev" as const)),
  apiUrl: Config.option(Config.String("XMTP_API_URL")),
  name: managerNameConfig,
  catchUpEvery: Config.Duration("MANAGER_CATCH_UP_EVERY").pipe(Config.withDefault(Duration.minutes(1))),
}).pipe(Config.map(({ apiUrl, ...rest }): XmtpChatOptions => ({ ...rest, apiUrl: Option.getOrUndefined(apiUrl) })))

/** The lobby: the manager's own conversation, whose invite it prints at start. */
export class ManagerLobby extends Context.Service<
  ManagerLobby,
  { readonly inboxId: string; readonly conversationId: string; readonly inviteUrl: string }
>()("manager-agent/ManagerLobby") {}

export class XmtpStartError extends Schema.TaggedError<XmtpStartError>()("XmtpStartError", {
  message: Schema.String,
  cause: Schema.Defect(),
}) {}

const sameId = (a: string, b: string) => a.toLowerCase() === b.toLowerCase()

const lobbyFile = (options: XmtpChatOptions) => join(options.stateDir, "lobby.json")

/** The lobby's id from a previous run, if any. */
const previousLobby = (options: XmtpChatOptions) =>
  readFile(lobbyFile(options), "utf8")
    .then((text) => (JSON.parse(text) as { conversationId?: string }).conversationId)
    .catch(() => undefined)

/**
 * The lobby: the conversation whose invite the manager publishes. Nobody is ever added to it: each joiner gets a
 * conversation of their own (the client's front door). The lobby from a previous run keeps its invite tag, so links
 * already printed keep working.
 */
const ensureLobby = async (client: ConvosClient, options: XmtpChatOptions, previous: string | undefined) => {
  if (previous) {
    const invite = await client.createInvite(previous).catch(() => undefined)
    if (invite) return { conversationId: previous, inviteUrl: invite.url }
  }
  const created = await client.createConversation({
    name: options.name,
    description: frontDoorDescription,
    permissions: "all_members",
    profile: { name: options.name, isAgent: true },
  })
  await writeFile(lobbyFile(options), JSON.stringify({ conversationId: created.conversationId }))
  return { conversationId: created.conversationId, inviteUrl: created.inviteUrl }
}

const frontDoorDescription = "Ask me to spawn AI agents into your chats."

const NOT_ALLOWED = /permission|not allowed|unauthori[sz]ed|policy|insufficient/i

const toChatError = (what: string) => (cause: unknown) => {
  const text = cause instanceof Error ? cause.message : String(cause)
  const reason: ChatError["reason"] =
    cause instanceof ConvosClientError
      ? cause.reason === "conversation_not_found" || cause.reason === "not_a_group"
        ? "not_found"
        : cause.reason === "invalid_invite" || cause.reason === "invite_expired" || cause.reason === "own_invite"
          ? "invalid_invite"
          : "failed"
      : NOT_ALLOWED.test(text)
        ? "not_allowed"
        : "failed"
  return new ChatError({ reason, message: `${what}: ${text.slice(0, 200)}` })
}

export const makeXmtpChat = (options: XmtpChatOptions) =>
  Effect.gen(function* () {
    // Events are queued from the first moment the client streams, so nothing arrives before a listener.
    const queue = yield* Queue.unbounded<ChatEvent, Cause.Done>()
    const profile = { name: options.name, isAgent: true }
    // Known before the client opens: join requests that waited while we were offline are routed at open.
    let lobbyId = yield* Effect.promise(() => previousLobby(options))
    const client = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () =>
          ConvosClient.open({
            stateDir: options.stateDir,
            env: options.env,
            ...(options.apiUrl ? { apiUrl: options.apiUrl } : {}),
            // People add the manager to their groups: every group it is added to is one it serves.
            welcomePolicy: "accept_all",
            frontDoor: { isDoor: (id) => id === lobbyId, profile, description: frontDoorDescription },
            catchUpEveryMs: Duration.toMillis(options.catchUpEvery ?? Duration.minutes(1)),
            onError: (error, context) =>
              Effect.runFork(Effect.logWarning(`convos: ${context}`, error instanceof Error ? error.message : String(error))),
          }),
        catch: (cause) => new XmtpStartError({ message: "cannot open the manager's XMTP client", cause }),
      }),
      (c) => Effect.promise(() => c.close()).pipe(Effect.andThen(Queue.end(queue)), Effect.ignore),
    )
    const selfInboxId = client.inboxId
    const lobby = yield* Effect.tryPromise({
      try: () => ensureLobby(client, options, lobbyId),
      catch: (cause) => new XmtpStartError({ message: "cannot prepare the lobby conversation", cause }),
    })
    lobbyId = lobby.conversationId

    /**
     * What each sender declared itself, per conversation ("conversation inbox" → kind), from profile messages as
     * they arrive; on a miss (a restart) read back from the conversation's history.
     */
    const memberKinds = new Map<string, "agent" | "human" | "unknown">()
    const key = (conversationId: string, inboxId: string) => `${conversationId} ${inboxId.toLowerCase()}`
    const rememberKind = (k: string, kind: "agent" | "human" | "unknown") => {
      memberKinds.set(k, kind)
      // Forgotten ones are read back from the conversation's history when needed.
      if (memberKinds.size > 20_000) memberKinds.delete(memberKinds.keys().next().value!)
    }
    const kindOf = (memberKind: number | undefined) =>
      memberKind === MemberKind.Agent ? "agent" : memberKind === MemberKind.User ? "human" : "unknown"
    const declared = async (conversationId: string, inboxId: string) => {
      let known = memberKinds.get(key(conversationId, inboxId))
      if (known === undefined) {
        known = kindOf(await client.declaredMemberKind(conversationId, inboxId).catch(() => undefined))
        rememberKind(key(conversationId, inboxId), known)
      }
      return known === "unknown" ? undefined : known
    }
    /** Our own recent message ids, to tell a reply to the manager. */
    const ownMessages = new Set<string>()
    const remember = (id: string) => {
      ownMessages.add(id)
      if (ownMessages.size > 5_000) ownMessages.delete(ownMessages.values().next().value!)
    }

    const toEvent = async (event: ConvosMessageEvent): Promise<ChatEvent | undefined> => {
      if (event.kind === "profile_update" && event.profile) {
        rememberKind(key(event.conversationId, event.senderInboxId), kindOf(event.profile.memberKind))
        return undefined
      }
      if (event.kind === "profile_snapshot" && event.profileSnapshot) {
        for (const p of event.profileSnapshot.profiles) rememberKind(key(event.conversationId, p.inboxId), kindOf(p.memberKind))
        return undefined
      }
      // A link pasted into a DM is classified as a legacy join request; the client only acts on our own invites, and
      // the manager reads the text like any other (someone else's invite means "join this").
      const pastedLink = event.kind === "join_request" && event.contentType.includes("/text:")
      if (event.kind !== "text" && event.kind !== "markdown" && event.kind !== "reply" && !pastedLink) return undefined
      if (event.text === undefined || sameId(event.senderInboxId, selfInboxId)) return undefined
      // A group holding only the sender and the manager is a 1:1 conversation too.
      const oneToOne = event.isDm || (await client.groupInfo(event.conversationId)).members.length <= 2
      return {
        _tag: "Message",
        messageId: event.id,
        conversationId: event.conversationId,
        conversationKind: oneToOne ? "dm" : "group",
        inGroup: !event.isDm,
        senderInboxId: event.senderInboxId,
        text: event.text,
        replyToInboxId: event.referenceMessageId && ownMessages.has(event.referenceMessageId) ? selfInboxId : undefined,
        senderMemberKind: await declared(event.conversationId, event.senderInboxId),
        sentAt: event.sentAt,
      }
    }

    client.onMessage(async (message) => {
      const event = await toEvent(message)
      if (event) Queue.offerUnsafe(queue, event)
    })
    client.onConversation((event) => {
      if (event.type === "joined" && event.via !== "created" && event.conversationId !== lobby.conversationId) {
        // Our name in every conversation we enter, whichever way (added, or an invite accepted at once or late):
        // set here once, so `joinByInvite` does not send its own.
        void client.setProfile(event.conversationId, profile).catch((error: unknown) =>
          Effect.runFork(Effect.logWarning("setting the profile failed", error instanceof Error ? error.message : String(error))),
        )
        Queue.offerUnsafe(queue, { _tag: "JoinedGroup", conversationId: event.conversationId })
      } else if (event.type === "front_door") {
        Queue.offerUnsafe(queue, { _tag: "FrontDoorOpened", conversationId: event.conversationId })
      } else if (event.type === "members_changed" && event.removedInboxIds.length > 0) {
        Queue.offerUnsafe(queue, { _tag: "MembersRemoved", conversationId: event.conversationId, inboxIds: event.removedInboxIds })
      }
    })

    // One span per XMTP call, so a trace shows what a command spends in the network and MLS.
    const call = <A>(what: string, run: () => Promise<A>) =>
      Effect.tryPromise({ try: run, catch: toChatError(what) }).pipe(Effect.withSpan(`Chat.${what}`))
    const joinWait = options.joinWait ?? Duration.seconds(8)

    const chat = Chat.of({
      selfInboxId,
      events: Stream.fromQueue(queue),
      sendText: (conversationId, text) =>
        call("send", () => client.sendText(conversationId, text)).pipe(Effect.map(remember)),
      addMembers: (conversationId, inboxIds) => call("add members", () => client.addMembers(conversationId, [...inboxIds])),
      removeMembers: (conversationId, inboxIds) =>
        call("remove members", () => client.removeMembers(conversationId, [...inboxIds])),
      canAddMembers: (conversationId) =>
        call("group info", () => client.groupInfo(conversationId)).pipe(
          Effect.map(
            (info) =>
              !info.locked &&
              (info.membersMayAddMembers ||
                info.adminInboxIds.some((id) => sameId(id, selfInboxId)) ||
                info.superAdminInboxIds.some((id) => sameId(id, selfInboxId))),
          ),
        ),
      isAdmin: (conversationId, inboxId) =>
        call("group info", () => client.groupInfo(conversationId)).pipe(
          Effect.map((info) => [...info.adminInboxIds, ...info.superAdminInboxIds].some((id) => sameId(id, inboxId))),
        ),
      memberInboxIds: (conversationId) =>
        call("group info", () => client.groupInfo(conversationId)).pipe(Effect.map((info) => info.members.map((m) => m.inboxId))),
      askedToLeave: (conversationId, inboxId, since) =>
        call("leave requests", () => client.askedToLeave(conversationId, inboxId, since)),
      joinByInvite: (inviteUrl) =>
        call("join by invite", () =>
          client.joinByInvite(inviteUrl, { timeoutMs: Duration.toMillis(joinWait), profile, profileUpdate: false }),
        ).pipe(
          Effect.map((result) =>
            result.status === "joined"
              ? { status: "joined" as const, conversationId: result.conversationId }
              : { status: "pending" as const, conversationId: null },
          ),
        ),
    })
    return { chat, lobby: ManagerLobby.of({ inboxId: selfInboxId, ...lobby }), client }
  })

/** `Chat` and `ManagerLobby` from options, or from the environment (MANAGER_STATE_DIR, XMTP_ENV, XMTP_API_URL, MANAGER_NAME). */
export const XmtpChatLayer = (options?: XmtpChatOptions) =>
  Layer.effectContext(
    Effect.gen(function* () {
      const resolved = options ?? (yield* XmtpChatConfig)
      const { chat, lobby } = yield* makeXmtpChat(resolved)
      return Context.make(Chat, chat).pipe(Context.add(ManagerLobby, lobby))
    }),
  )
