/**
 * The production `Chat`: the manager's own XMTP client (identity from `convos/identity`), its lobby conversation
 * with a Convos invite, join requests to its conversations accepted with `convos/joinRequest`, and join requests
 * of its own sent for invite links it is given. Everything XMTP lives in this file.
 */
import { Client, Dm, Group, isText, isTextReply, type DecodedMessage, type Signer } from "@xmtp/node-sdk"
import { type Cause, Config, Context, Duration, Effect, Layer, Option, Queue, Schema, Semaphore, Stream } from "effect"
import { readFile, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { toBytes } from "viem"
import { privateKeyToAccount } from "viem/accounts"
import {
  ContentTypeProfileSnapshot,
  ContentTypeProfileUpdate,
  JoinRequestCodec,
  MemberKind,
  ProfileUpdateCodec,
  convosCodecs,
  sameContentType,
  type ProfileSnapshot,
  type ProfileUpdate,
} from "../../../convos/contentTypes.ts"
import { loadOrCreateIdentity, type ConvosIdentity } from "../../../convos/identity.ts"
import { createInvite, inviteToSlug, tryParseInvite, type ConvosEnv } from "../../../convos/invite.ts"
import { decideJoinRequest, gatherJoinRequestEvidence, joinRequestFromMessage } from "../../../convos/joinRequest.ts"
import { decodeAppData, encodeAppData, newInviteTag } from "../../../convos/metadata.ts"
import { Chat, ChatError, type ChatEvent, type JoinOutcome } from "../ports/Chat.ts"

export interface XmtpChatOptions {
  readonly stateDir: string
  readonly env: ConvosEnv
  /** Overrides the network's gRPC URL (the fake node in tests). */
  readonly apiUrl?: string | undefined
  /** Profile name and lobby name. */
  readonly name: string
  /** How long `joinByInvite` waits for the creator to accept before answering `pending`. */
  readonly joinWait?: Duration.Duration
}

export const XmtpChatConfig = Config.all({
  stateDir: Config.String("MANAGER_STATE_DIR").pipe(Config.withDefault(".data/manager")),
  env: Config.Literals(["dev", "production", "local"], "XMTP_ENV").pipe(Config.withDefault("dev" as const)),
  apiUrl: Config.option(Config.String("XMTP_API_URL")),
  name: Config.String("MANAGER_NAME").pipe(Config.withDefault("Manager")),
}).pipe(Config.map(({ apiUrl, ...rest }) => ({ ...rest, apiUrl: Option.getOrUndefined(apiUrl) })))

/** The lobby: the manager's own conversation, whose invite it prints at start. */
export class ManagerLobby extends Context.Service<
  ManagerLobby,
  { readonly inboxId: string; readonly conversationId: string; readonly inviteUrl: string }
>()("manager-agent/ManagerLobby") {}

class XmtpStartError extends Schema.TaggedError<XmtpStartError>()("XmtpStartError", {
  message: Schema.String,
  cause: Schema.Defect(),
}) {}

const signerFor = (identity: ConvosIdentity): Signer => {
  const account = privateKeyToAccount(identity.walletKey)
  return {
    type: "EOA",
    getIdentifier: () => ({ identifier: account.address.toLowerCase(), identifierKind: 0 }),
    signMessage: async (message: string) => toBytes(await account.signMessage({ message })),
  }
}

type ManagerClient = Client<unknown>

const sameId = (a: string, b: string) => a.toLowerCase() === b.toLowerCase()

/** Reads or creates the lobby group, and makes its invite. */
const ensureLobby = async (client: ManagerClient, identity: ConvosIdentity, options: XmtpChatOptions) => {
  const file = join(options.stateDir, "lobby.json")
  let conversationId: string | undefined
  try {
    conversationId = (JSON.parse(await readFile(file, "utf8")) as { conversationId?: string }).conversationId
  } catch {
    conversationId = undefined
  }
  let group = conversationId ? await client.conversations.getConversationById(conversationId) : undefined
  if (!(group instanceof Group)) {
    group = await client.conversations.createGroup([], {
      groupName: options.name,
      groupDescription: "Ask me to spawn AI agents into your chats.",
    })
    await group.updateAppData(encodeAppData({ tag: newInviteTag(), profiles: [] }))
    await group.send(new ProfileUpdateCodec().encode({ name: options.name, memberKind: MemberKind.Agent }))
    await writeFile(file, JSON.stringify({ conversationId: group.id }))
  }
  const tag = decodeAppData(group.appData).tag
  const invite = await createInvite(
    { conversationId: group.id, creatorInboxId: client.inboxId, walletKey: identity.walletKey, tag, name: options.name },
    options.env,
  )
  return { conversationId: group.id, inviteUrl: invite.url }
}

export const makeXmtpChat = (options: XmtpChatOptions) =>
  Effect.gen(function* () {
    const identity = yield* Effect.tryPromise({
      try: () => loadOrCreateIdentity({ stateDir: options.stateDir }),
      catch: (cause) => new XmtpStartError({ message: "cannot load the manager's identity", cause }),
    })
    const client = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () =>
          Client.create(signerFor(identity), {
            env: options.env,
            ...(options.apiUrl ? { apiUrl: options.apiUrl } : {}),
            dbPath: join(options.stateDir, `xmtp-${options.env}.db3`),
            dbEncryptionKey: identity.dbEncryptionKey,
            codecs: convosCodecs() as never,
            disableDeviceSync: true,
          }) as Promise<ManagerClient>,
        catch: (cause) => new XmtpStartError({ message: "cannot open the manager's XMTP client", cause }),
      }),
      (c) => Effect.promise(() => c.close()).pipe(Effect.ignore),
    )
    const lobby = yield* Effect.tryPromise({
      try: () => ensureLobby(client, identity, options),
      catch: (cause) => new XmtpStartError({ message: "cannot prepare the lobby conversation", cause }),
    })

    const selfInboxId = client.inboxId
    /** Convos profiles seen in messages: who says it is an agent. */
    const memberKinds = new Map<string, "agent" | "human">()
    const failed = (reason: ChatError["reason"], message: string) => (cause: unknown) =>
      new ChatError({ reason, message: `${message}: ${String(cause).slice(0, 200)}` })

    const groupById = (conversationId: string) =>
      Effect.tryPromise({
        try: () => client.conversations.getConversationById(conversationId),
        catch: failed("failed", "conversation lookup"),
      }).pipe(
        Effect.flatMap((c) =>
          c ? Effect.succeed(c) : Effect.fail(new ChatError({ reason: "not_found", message: "no such conversation" })),
        ),
      )
    const asGroup = (conversationId: string) =>
      groupById(conversationId).pipe(
        Effect.flatMap((c) =>
          c instanceof Group ? Effect.succeed(c) : Effect.fail(new ChatError({ reason: "not_found", message: "not a group" })),
        ),
      )

    /** Creator side of our own invites (the lobby, and any group we created). One request at a time. */
    const joinLock = yield* Semaphore.make(1)
    const handleJoinRequest = (message: DecodedMessage<unknown>) =>
      joinLock.withPermits(1)(
        Effect.tryPromise({
          try: async () => {
            const request = joinRequestFromMessage({
              senderInboxId: message.senderInboxId,
              contentType: message.contentType,
              content: message.content,
            })
            if (!request) return false
            const evidence = await gatherJoinRequestEvidence(request, {
              selfInboxId,
              walletKey: identity.walletKey,
              lookupGroup: async (id) => {
                const group = await client.conversations.getConversationById(id)
                if (!(group instanceof Group)) return undefined
                await group.sync()
                return { inviteTag: decodeAppData(group.appData).tag, memberInboxIds: (await group.members()).map((m) => m.inboxId) }
              },
            })
            const verdict = decideJoinRequest(evidence)
            const dm = await client.conversations.getConversationById(message.conversationId)
            if (verdict.kind === "accept") {
              const group = await client.conversations.getConversationById(verdict.conversationId)
              if (group instanceof Group) await group.addMembers([verdict.joinerInboxId])
              dm?.updateConsentState(1)
            } else if (verdict.kind === "deny") {
              dm?.updateConsentState(2)
            }
            // A plain-text DM that is not one of our invites is an ordinary message.
            return request.structured || verdict.kind !== "ignore" || evidence.parsed.ok
          },
          catch: failed("failed", "join request"),
        }),
      )

    const rememberProfiles = (message: DecodedMessage<unknown>) => {
      if (sameContentType(message.contentType, ContentTypeProfileUpdate)) {
        const update = message.content as ProfileUpdate | undefined
        memberKinds.set(message.senderInboxId.toLowerCase(), update?.memberKind === MemberKind.Agent ? "agent" : "human")
        return true
      }
      if (sameContentType(message.contentType, ContentTypeProfileSnapshot)) {
        for (const profile of (message.content as ProfileSnapshot | undefined)?.profiles ?? []) {
          memberKinds.set(profile.inboxId.toLowerCase(), profile.memberKind === MemberKind.Agent ? "agent" : "human")
        }
        return true
      }
      return false
    }

    const toEvent = (message: DecodedMessage<unknown>) =>
      Effect.gen(function* () {
        if (sameId(message.senderInboxId, selfInboxId)) return undefined
        if (rememberProfiles(message)) return undefined
        const conversation = yield* groupById(message.conversationId)
        if (conversation instanceof Dm) {
          const consumed = yield* handleJoinRequest(message)
          if (consumed) return undefined
        }
        let text: string | undefined
        let replyToInboxId: string | undefined
        if (isText(message as DecodedMessage)) text = message.content as string
        else if (isTextReply(message as DecodedMessage)) {
          const reply = message.content as { content: string; inReplyTo: DecodedMessage | null }
          text = reply.content
          replyToInboxId = reply.inReplyTo?.senderInboxId
        }
        if (text === undefined) return undefined
        const members = conversation instanceof Group ? yield* Effect.promise(() => conversation.members()) : []
        const event: ChatEvent = {
          _tag: "Message",
          messageId: message.id,
          conversationId: message.conversationId,
          conversationKind: conversation instanceof Dm || members.length <= 2 ? "dm" : "group",
          senderInboxId: message.senderInboxId,
          text,
          replyToInboxId,
          senderMemberKind: memberKinds.get(message.senderInboxId.toLowerCase()),
          sentAt: message.sentAt,
        }
        return event
      })

    const events: Stream.Stream<ChatEvent, ChatError> = Stream.unwrap(
      Effect.gen(function* () {
        const queue = yield* Queue.unbounded<ChatEvent, Cause.Done>()
        const messages = yield* Effect.acquireRelease(
          Effect.tryPromise({ try: () => client.conversations.streamAllMessages(), catch: failed("failed", "message stream") }),
          (s) => Effect.promise(() => s.end()).pipe(Effect.ignore),
        )
        const welcomes = yield* Effect.acquireRelease(
          Effect.tryPromise({ try: () => client.conversations.stream(), catch: failed("failed", "conversation stream") }),
          (s) => Effect.promise(() => s.end()).pipe(Effect.ignore),
        )
        yield* Effect.forkScoped(
          Stream.fromAsyncIterable(messages, failed("failed", "message stream")).pipe(
            Stream.runForEach((message) =>
              toEvent(message as DecodedMessage<unknown>).pipe(
                Effect.flatMap((event) => (event ? Queue.offer(queue, event) : Effect.void)),
                Effect.catchCause((cause) => Effect.logWarning("dropping an undecodable message", cause)),
              ),
            ),
            Effect.onExit(() => Queue.end(queue)),
          ),
        )
        yield* Effect.forkScoped(
          Stream.fromAsyncIterable(welcomes, failed("failed", "conversation stream")).pipe(
            Stream.runForEach((conversation) =>
              conversation instanceof Group && conversation.id !== lobby.conversationId
                ? Queue.offer(queue, { _tag: "JoinedGroup", conversationId: conversation.id })
                : Effect.void,
            ),
            Effect.catchCause((cause) => Effect.logWarning("conversation stream ended", cause)),
          ),
        )
        return Stream.fromQueue(queue)
      }),
    )

    const joinWait = options.joinWait ?? Duration.seconds(8)

    const joinByInvite = Effect.fn("Chat.joinByInvite")(function* (inviteUrl: string) {
      const parsed = tryParseInvite(inviteUrl)
      if (!parsed.ok) return yield* new ChatError({ reason: "invalid_invite", message: parsed.error.message })
      const invite = parsed.invite
      return yield* Effect.tryPromise({
        try: async (signal): Promise<JoinOutcome> => {
          await client.conversations.sync()
          const before = new Set((await client.conversations.listGroups()).map((g) => g.id))
          const dm = await client.conversations.createDm(invite.creatorInboxId)
          const slug = inviteToSlug(invite)
          await dm.send(new JoinRequestCodec().encode({ inviteSlug: slug, profile: { name: options.name, memberKind: "agent" } }) as never)
          const deadline = Date.now() + Duration.toMillis(joinWait)
          while (Date.now() < deadline && !signal.aborted) {
            await client.conversations.sync()
            const joined = (await client.conversations.listGroups()).find((g) => !before.has(g.id))
            if (joined) return { status: "joined", conversationId: joined.id }
            await new Promise((resolve) => setTimeout(resolve, 250))
          }
          return { status: "pending", conversationId: null }
        },
        catch: failed("failed", "join by invite"),
      })
    })

    const chat = Chat.of({
      selfInboxId,
      events,
      sendText: (conversationId, text) =>
        groupById(conversationId).pipe(
          Effect.flatMap((c) => Effect.tryPromise({ try: () => c.sendText(text), catch: failed("failed", "send") })),
          Effect.asVoid,
        ),
      addMembers: (conversationId, inboxIds) =>
        asGroup(conversationId).pipe(
          Effect.flatMap((g) =>
            Effect.tryPromise({
              try: () => g.addMembers([...inboxIds]),
              catch: (cause) =>
                new ChatError({
                  reason: /permission|not allowed|unauthori[sz]ed|policy/i.test(String(cause)) ? "not_allowed" : "failed",
                  message: `add members: ${String(cause).slice(0, 200)}`,
                }),
            }),
          ),
        ),
      removeMembers: (conversationId, inboxIds) =>
        asGroup(conversationId).pipe(
          Effect.flatMap((g) => Effect.tryPromise({ try: () => g.removeMembers([...inboxIds]), catch: failed("failed", "remove members") })),
        ),
      canAddMembers: (conversationId) =>
        asGroup(conversationId).pipe(
          Effect.map((g) => {
            // PermissionPolicy: Allow 0, Deny 1, Admin 2, SuperAdmin 3.
            const policy = g.permissions().policySet.addMemberPolicy as number
            if (policy === 0) return true
            if (policy === 2) return g.isAdmin(selfInboxId) || g.isSuperAdmin(selfInboxId)
            if (policy === 3) return g.isSuperAdmin(selfInboxId)
            return false
          }),
        ),
      isAdmin: (conversationId, inboxId) =>
        asGroup(conversationId).pipe(Effect.map((g) => g.isAdmin(inboxId) || g.isSuperAdmin(inboxId))),
      joinByInvite,
    })
    return { chat, lobby: ManagerLobby.of({ inboxId: selfInboxId, ...lobby }), client }
  })

/** `Chat` and `ManagerLobby` from the environment (MANAGER_STATE_DIR, XMTP_ENV, XMTP_API_URL, MANAGER_NAME). */
export const XmtpChatLayer = (options?: XmtpChatOptions) =>
  Layer.effectContext(
    Effect.gen(function* () {
      const resolved = options ?? (yield* XmtpChatConfig)
      const { chat, lobby } = yield* makeXmtpChat(resolved)
      return Context.make(Chat, chat).pipe(Context.add(ManagerLobby, lobby))
    }),
  )
