/** In-memory fakes of the manager's ports, recording what the manager did. Anything unscripted fails loudly. */
import { Effect, Layer, Stream } from "effect"
import { AgentPool, AgentPoolError, type ClaimedAgent, type SpawnClaim } from "../../src/ports/AgentPool.ts"
import { Chat, ChatError, type JoinOutcome } from "../../src/ports/Chat.ts"

export interface FakeChatState {
  readonly sent: Array<{ conversationId: string; text: string }>
  readonly members: Map<string, Set<string>>
  readonly admins: Map<string, Set<string>>
  /** Groups where the manager may not add members. */
  readonly addLocked: Set<string>
  /** Groups where the manager may not remove members (not an admin). */
  readonly removeLocked: Set<string>
  /** Groups whose permissions cannot be read (the XMTP client fails). */
  readonly unreadable: Set<string>
  /** Groups where a removal reports success but the member stays listed. */
  readonly ineffectiveRemovals: Set<string>
  /** `${conversationId} ${inboxId}`: members that asked the group's admins to remove them (their own leave). */
  readonly leaveRequests: Set<string>
  readonly joins: Array<string>
  joinOutcome: JoinOutcome | "invalid"
}

export const makeFakeChat = (selfInboxId = "manager-inbox") => {
  const state: FakeChatState = {
    sent: [],
    members: new Map(),
    admins: new Map(),
    addLocked: new Set(),
    unreadable: new Set(),
    removeLocked: new Set(),
    ineffectiveRemovals: new Set(),
    leaveRequests: new Set(),
    joins: [],
    joinOutcome: { status: "joined", conversationId: "joined-conv" },
  }
  const membersOf = (conversationId: string) => {
    let set = state.members.get(conversationId)
    if (!set) state.members.set(conversationId, (set = new Set()))
    return set
  }
  const layer = Layer.succeed(
    Chat,
    Chat.of({
      selfInboxId,
      events: Stream.die("FakeChat.events is not scripted in this test"),
      sendText: (conversationId, text) => Effect.sync(() => void state.sent.push({ conversationId, text })),
      addMembers: (conversationId, inboxIds) =>
        state.addLocked.has(conversationId)
          ? Effect.fail(new ChatError({ reason: "not_allowed", message: "add locked" }))
          : Effect.sync(() => inboxIds.forEach((id) => membersOf(conversationId).add(id))),
      removeMembers: (conversationId, inboxIds) =>
        state.removeLocked.has(conversationId)
          ? Effect.fail(new ChatError({ reason: "not_allowed", message: "not an admin" }))
          : Effect.sync(() => {
            if (!state.ineffectiveRemovals.has(conversationId)) inboxIds.forEach((id) => membersOf(conversationId).delete(id))
          }),
      canAddMembers: (conversationId) =>
        state.unreadable.has(conversationId)
          // After the quota check has answered, as a slow client would.
          ? Effect.sleep("200 millis").pipe(Effect.andThen(Effect.fail(new ChatError({ reason: "failed", message: "scripted" }))))
          : Effect.succeed(!state.addLocked.has(conversationId)),
      memberInboxIds: (conversationId) => Effect.sync(() => [...membersOf(conversationId)]),
      askedToLeave: (conversationId, inboxId) => Effect.sync(() => state.leaveRequests.has(`${conversationId} ${inboxId}`)),
      isAdmin: (conversationId, inboxId) => Effect.succeed(state.admins.get(conversationId)?.has(inboxId) ?? false),
      joinByInvite: (url) =>
        Effect.suspend(() => {
          state.joins.push(url)
          return state.joinOutcome === "invalid"
            ? Effect.fail(new ChatError({ reason: "invalid_invite", message: "bad" }))
            : Effect.succeed(state.joinOutcome)
        }),
    }),
  )
  return { state, layer }
}

export interface FakePoolState {
  readonly claims: Array<SpawnClaim>
  readonly killed: Array<string>
  readonly reconfigured: Array<{ instanceId: string; agentName?: string; instructions?: string }>
  /** Fail the next claims with this reason. */
  failClaimsWith: AgentPoolError["reason"] | undefined
  failReconfigure: false | "unavailable" | "not_found"
  /** When set, each claim first reports waiting for capacity with this estimate (twice, as a pool may). */
  waitingEta: number | undefined
  /** When set, claims are recorded at once but answer only once it settles. */
  hold: Promise<void> | undefined
}

export const makeFakePool = () => {
  const state: FakePoolState = { claims: [], killed: [], reconfigured: [], failClaimsWith: undefined, failReconfigure: false, waitingEta: undefined, hold: undefined }
  let next = 0
  const layer = Layer.succeed(
    AgentPool,
    AgentPool.of({
      claim: (request, onWaiting) =>
        Effect.gen(function*() {
          state.claims.push(request)
          const hold = state.hold
          if (hold) yield* Effect.promise(() => hold)
          if (state.waitingEta !== undefined && onWaiting) {
            yield* onWaiting(state.waitingEta)
            yield* onWaiting(state.waitingEta)
          }
          if (state.failClaimsWith) {
            return yield* Effect.fail(new AgentPoolError({ reason: state.failClaimsWith, message: "scripted failure (secret-token-123)" }))
          }
          next += 1
          const result: ClaimedAgent = {
            instanceId: `inst-${next}`,
            agentName: request.agentName,
            inboxId: `agent-inbox-${next}`,
            status: "claimed",
            conversationId: request.mode === "add" ? (request.conversationId ?? null) : `created-conv-${next}`,
            inviteUrl: request.mode === "create" ? `https://dev.convos.org/v2?i=invite${next}` : null,
            joined: request.mode !== "create",
          }
          return result
        }),
      kill: (instanceId) => Effect.sync(() => void state.killed.push(instanceId)),
      reconfigure: (instanceId, change) =>
        state.failReconfigure
          ? Effect.fail(new AgentPoolError({ reason: state.failReconfigure, message: "scripted" }))
          : Effect.sync(() => void state.reconfigured.push({ instanceId, ...change })),
    }),
  )
  return { state, layer }
}
