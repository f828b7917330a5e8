/**
 * One inbound chat message → at most one action and one short reply. Decisions are the pure functions of
 * `policy.ts`; this file gathers the facts (Postgres, the group's permissions) and calls the pool and the chat.
 */
import { Context, Effect, Layer, Schedule, Semaphore } from "effect"
import { Ownership, type OwnershipError } from "../db/Ownership.ts"
import type { Intent, MessageContext, SpawnIntent } from "../intent/Intent.ts"
import { IntentParser } from "../intent/IntentParser.ts"
import { TemplateCatalog } from "../intent/TemplateCatalog.ts"
import { ManagerSettings } from "../ManagerSettings.ts"
import { AgentPool, type AgentPoolError } from "../ports/AgentPool.ts"
import { Chat, inGroup, type ChatError, type InboundMessage } from "../ports/Chat.ts"
import { pastedInvite } from "./invites.ts"
import { checkSpawnQuota, classifySender, withSpawnsInFlight, mayManage, removalReport, renameConflict, resolveAgent, uniqueName, type AgentRecord } from "./policy.ts"
import { replies } from "./replies.ts"
import { defaultTrafficLimits, emptyTraffic, heard, mayReply, pauseNotice, replied as repliedTo, type ConversationTraffic, type TrafficSilence } from "./traffic.ts"

/** What the manager did with a message: for tests, logs and the benchmark. */
export type Outcome =
  | { readonly _tag: "Ignored"; readonly why: "self" | "spawned-agent" | "not-addressed" | "own-invite" | TrafficSilence }
  | { readonly _tag: "Replied"; readonly intent: Intent["kind"] }
  | { readonly _tag: "Spawned"; readonly agent: AgentRecord; readonly mode: "add" | "create" }
  | { readonly _tag: "Removed"; readonly agent: AgentRecord }
  /** Told the agents here, once, that it pauses its replies to them (the loop depth). */
  | { readonly _tag: "Paused" }

const HOUR_MS = 60 * 60 * 1000
/** How long a removal may take to show in the manager's own member list before the reply says it has not. */
const memberListSettles = Schedule.spaced("250 millis")

export class Commands extends Context.Service<
  Commands,
  { handle(message: InboundMessage): Effect.Effect<Outcome, OwnershipError | ChatError> }
>()("manager-agent/Commands") {
  static readonly layer = Layer.effect(
    Commands,
    Effect.gen(function* () {
      const chat = yield* Chat
      const pool = yield* AgentPool
      const ownership = yield* Ownership
      const parser = yield* IntentParser
      const catalog = yield* TemplateCatalog
      const settings = yield* ManagerSettings

      const reply = (message: InboundMessage, text: string) => chat.sendText(message.conversationId, text)
      const replied = (message: InboundMessage, intent: Intent["kind"], text: string) =>
        reply(message, text).pipe(Effect.as<Outcome>({ _tag: "Replied", intent }))

      // Messages are handled in order per conversation, and conversations at once. Spawns asked for at the same time
      // must still count against one quota, so the quota check and its reservation run one at a time (a few ms), and
      // a reserved spawn counts as made until its ownership row is written; the claims themselves run at once.
      const quotaGate = Semaphore.makeUnsafe(1)
      const spawnsInFlight = new Map<string, number>()
      const inFlightOf = (sender: string) => ({ mine: spawnsInFlight.get(sender) ?? 0, all: [...spawnsInFlight.values()].reduce((a, b) => a + b, 0) })
      /**
       * One spawn's reservation, taken in the gate when its check passes. It ends with its ownership row written in the
       * same turn of the gate (a check then sees the row or the reservation, never both or neither), or, without a
       * row, on its own (also in the gate).
       */
      const reservationOf = (sender: string) => {
        let held = false
        const take = () => {
          held = true
          spawnsInFlight.set(sender, (spawnsInFlight.get(sender) ?? 0) + 1)
        }
        const end = Effect.sync(() => {
          if (!held) return
          held = false
          const left = (spawnsInFlight.get(sender) ?? 1) - 1
          if (left > 0) spawnsInFlight.set(sender, left)
          else spawnsInFlight.delete(sender)
        })
        return {
          take,
          record: <E>(write: Effect.Effect<void, E>) => quotaGate.withPermits(1)(write.pipe(Effect.ensuring(end))),
          release: quotaGate.withPermits(1)(end),
        }
      }
      /** Recent traffic per conversation, for the loop limits and the reply budget (`traffic.ts`). */
      const traffic = new Map<string, ConversationTraffic>()
      /** Most recently active conversations last; the least recent is forgotten past 10,000 (its window is long gone). */
      const keepTraffic = (conversationId: string, state: ConversationTraffic) => {
        traffic.delete(conversationId)
        traffic.set(conversationId, state)
        if (traffic.size > 10_000) traffic.delete(traffic.keys().next().value!)
      }

      const logPoolError = (what: string, error: AgentPoolError) =>
        Effect.logWarning(`${what} failed`, { reason: error.reason, message: error.message })

      const spawn = Effect.fn("Commands.spawn")(function* (
        message: InboundMessage,
        intent: SpawnIntent,
        here: ReadonlyArray<AgentRecord>,
      ) {
        const isGroup = inGroup(message)
        const sender = message.senderInboxId
        const reservation = reservationOf(sender)
        // The quota facts and the reservation, as one step among all spawns; whether we may add members here, meanwhile.
        const [{ verdict, now }, mayAdd] = yield* Effect.all(
          [
            quotaGate.withPermits(1)(Effect.gen(function* () {
              // Read in the gate: a spawn that went through it first was recorded at an earlier time than this one.
              const now = new Date()
              const hourAgo = new Date(now.getTime() - HOUR_MS)
              const [recentSpawns, global] = yield* Effect.all(
                [ownership.spawnsSince(sender, hourAgo), ownership.globalSpawnFacts(sender, hourAgo)],
                { concurrency: 2 },
              )
              // The per-conversation cap holds in a 1:1 too (a 2-member group is one): `here` is what was spawned from it.
              const counted = withSpawnsInFlight({ recentSpawns, global }, inFlightOf(sender), now)
              const verdict = checkSpawnQuota({ liveAgentsHere: here.length, ...counted, limits: settings.limits, now })
              if (verdict.ok) reservation.take()
              return { verdict, now }
            })).pipe(Effect.withSpan("Commands.quotaGate")),
            isGroup ? chat.canAddMembers(message.conversationId) : Effect.succeed(true),
          ],
          { concurrency: 2 },
        ).pipe(Effect.onError(() => reservation.release))
        if (!verdict.ok) {
          return yield* replied(
            message,
            "spawn",
            verdict.reason === "conversation_full"
              ? replies.conversationFull(verdict.limit)
              : verdict.reason === "busy"
              ? replies.busy(verdict.retryInMinutes)
              : replies.rateLimited(verdict.limit, verdict.retryInMinutes),
          )
        }
        // Reserved: it ends when the ownership row is written, or when the spawn ends without one.
        return yield* Effect.gen(function* () {
          // Unique among the agents asked for here: in a group two members of one name cannot be told apart, and from a
          // 1:1 each agent gets a conversation named after it, so two "Trip Planner" chats would be ambiguous.
          const name = uniqueName(intent.name, here)
          if (!mayAdd) return yield* replied(message, "spawn", replies.cannotAddMembers(name))
          const mode = isGroup ? "add" : "create"
          // Said once, while the pool makes an agent ready for this claim; the agent joins when it is.
          let toldWaiting = false
          const onWaiting = (etaSeconds: number) =>
            toldWaiting
              ? Effect.void
              : Effect.suspend(() => {
                toldWaiting = true
                return reply(message, replies.gettingReady(name, etaSeconds)).pipe(Effect.ignore)
              })
          // A spawn that matched a catalog template gets that template's tools; a free-form one the pool's default.
          const skills = intent.template === undefined
            ? undefined
            : (yield* catalog.templates).find((t) => t.slug === intent.template)?.skills
          const claimed = yield* pool
            .claim({
              agentName: name,
              instructions: intent.instructions,
              ...(skills === undefined ? {} : { skills }),
              mode,
              ...(mode === "add" ? { conversationId: message.conversationId, addedBy: chat.selfInboxId } : {}),
              claimedBy: message.senderInboxId,
              idempotencyKey: `manager:${message.messageId}`,
              managerInboxId: chat.selfInboxId,
            }, onWaiting)
            .pipe(Effect.tapError((error) => logPoolError("claim", error)), Effect.result)
          if (claimed._tag === "Failure") {
            return yield* replied(message, "spawn", claimed.failure.reason === "no_idle" ? replies.noCapacity() : replies.spawnFailed(name))
          }
          const instance = claimed.success
          const agent: AgentRecord = {
            instanceId: instance.instanceId,
            // Where it was asked for: a DM-spawned agent lives in its own conversation but is managed from the DM.
            conversationId: message.conversationId,
            agentName: instance.agentName || name,
            inboxId: instance.inboxId,
            spawnedBy: message.senderInboxId,
            spawnedAt: now,
          }
          const record = reservation.record(ownership.record(agent))

          if (mode === "create") {
            yield* record
            if (!instance.inviteUrl) {
              yield* Effect.logWarning("create-mode claim returned no invite URL")
              yield* discard(agent)
              return yield* replied(message, "spawn", replies.spawnFailed(name))
            }
            yield* reply(message, replies.createdDm(agent.agentName, instance.inviteUrl))
            return { _tag: "Spawned", agent, mode } satisfies Outcome
          }

          // The add does not wait for the ownership row (both are needed; a failed add closes the row again).
          const [, added] = yield* Effect.all([record, chat.addMembers(message.conversationId, [instance.inboxId]).pipe(Effect.result)], {
            concurrency: 2,
          })
          if (added._tag === "Failure") {
            yield* Effect.logWarning("adding the agent failed", { reason: added.failure.reason, message: added.failure.message })
            yield* discard(agent)
            return yield* replied(
              message,
              "spawn",
              added.failure.reason === "not_allowed" ? replies.cannotAddMembers(name) : replies.spawnFailed(name),
            )
          }
          yield* reply(message, replies.joining(agent.agentName))
          return { _tag: "Spawned", agent, mode } satisfies Outcome
        }).pipe(Effect.ensuring(reservation.release))
      })

      /** Gives back an instance the manager could not place: destroyed (never reused), ownership closed. */
      const discard = (agent: AgentRecord) =>
        pool.kill(agent.instanceId).pipe(
          Effect.tapError((error) => logPoolError("kill", error)),
          Effect.ignore,
          Effect.andThen(ownership.markRemoved(agent.instanceId)),
        )

      /** Finds the agent a message refers to and checks the sender may manage it; replies itself otherwise. */
      const target = Effect.fn("Commands.target")(function* (message: InboundMessage, ref: string) {
        const here = yield* ownership.liveAgents(message.conversationId)
        const match = resolveAgent(ref, here)
        if (match.kind === "not_found") {
          yield* reply(message, replies.notFound(ref))
          return undefined
        }
        if (match.kind === "ambiguous") {
          yield* reply(message, replies.ambiguous(match.candidates))
          return undefined
        }
        const agent = match.agent
        const isSpawner = mayManage({ actorInboxId: message.senderInboxId, actorIsAdmin: false, agent })
        const actorIsAdmin = isSpawner
          ? false
          : inGroup(message)
            ? yield* chat.isAdmin(message.conversationId, message.senderInboxId)
            : false
        if (!mayManage({ actorInboxId: message.senderInboxId, actorIsAdmin, agent })) {
          yield* reply(message, replies.notAllowed(agent.agentName))
          return undefined
        }
        return agent
      })

      const remove = Effect.fn("Commands.remove")(function* (message: InboundMessage, ref: string) {
        const agent = yield* target(message, ref)
        if (!agent) return { _tag: "Replied", intent: "remove" } satisfies Outcome
        const isGroup = inGroup(message)
        const startedAt = new Date()
        let removeRefused = false
        if (isGroup) {
          const removed = yield* chat.removeMembers(message.conversationId, [agent.inboxId]).pipe(Effect.result)
          if (removed._tag === "Failure") {
            yield* Effect.logWarning("removing the agent from the group failed", { reason: removed.failure.reason })
            removeRefused = true
          }
        }
        const killed = yield* pool.kill(agent.instanceId).pipe(Effect.tapError((e) => logPoolError("kill", e)), Effect.result)
        if (killed._tag === "Failure" && killed.failure.reason !== "not_found") {
          return yield* replied(message, "remove", replies.removeFailed(agent.agentName))
        }
        yield* ownership.markRemoved(agent.instanceId)
        // The reply says what the member list says, not what we asked for.
        const listed = chat.memberInboxIds(message.conversationId).pipe(
          Effect.map((ids) => ids.some((id) => id.toLowerCase() === agent.inboxId.toLowerCase())),
          Effect.catch(() => Effect.succeed(true)),
        )
        // A removal we made can take a moment to show in our own view of the group: look again a few times.
        const stillMember = !isGroup
          ? false
          : removeRefused
            ? yield* listed
            : yield* listed.pipe(Effect.repeat({ schedule: memberListSettles, times: 8, until: (still) => !still }))
        // Removing its slot made the agent ask the group's admins to remove it; an admin's app does that when it syncs.
        const askedToLeave = stillMember
          ? yield* chat.askedToLeave(message.conversationId, agent.inboxId, startedAt).pipe(Effect.catch(() => Effect.succeed(false)))
          : false
        yield* reply(message, replies.removal(agent.agentName, removalReport({ inGroup: isGroup, removeRefused, stillMember, askedToLeave })))
        return { _tag: "Removed", agent } satisfies Outcome
      })

      const rename = Effect.fn("Commands.rename")(function* (message: InboundMessage, ref: string, newName: string) {
        const agent = yield* target(message, ref)
        if (!agent) return { _tag: "Replied", intent: "rename" } satisfies Outcome
        const conflict = renameConflict(newName, agent, yield* ownership.liveAgents(message.conversationId))
        if (conflict !== null) {
          return yield* replied(message, "rename", conflict === "unchanged" ? replies.alreadyCalled(agent.agentName) : replies.nameTaken(newName))
        }
        const changed = yield* pool
          .reconfigure(agent.instanceId, { agentName: newName })
          .pipe(Effect.tapError((e) => logPoolError("rename", e)), Effect.result)
        if (changed._tag === "Failure") return yield* replied(message, "rename", replies.changeFailed(agent.agentName))
        // The pool owns the name; the manager's copy follows only once the pool took it (a refusal changes neither).
        yield* ownership.rename(agent.instanceId, newName)
        return yield* replied(message, "rename", replies.renamed(agent.agentName, newName))
      })

      const instruct = Effect.fn("Commands.instruct")(function* (message: InboundMessage, ref: string, instructions: string) {
        const agent = yield* target(message, ref)
        if (!agent) return { _tag: "Replied", intent: "instruct" } satisfies Outcome
        const changed = yield* pool
          .reconfigure(agent.instanceId, { instructions })
          .pipe(Effect.tapError((e) => logPoolError("instruct", e)), Effect.result)
        if (changed._tag === "Failure") return yield* replied(message, "instruct", replies.changeFailed(agent.agentName))
        return yield* replied(message, "instruct", replies.instructed(agent.agentName))
      })

      const join = Effect.fn("Commands.join")(function* (message: InboundMessage, inviteUrl: string) {
        if (pastedInvite(inviteUrl, chat.selfInboxId)?.kind === "own") return yield* replied(message, "join", replies.ownLink())
        const outcome = yield* chat.joinByInvite(inviteUrl).pipe(Effect.result)
        if (outcome._tag === "Failure") {
          yield* Effect.logWarning("joining by invite failed", { reason: outcome.failure.reason })
          return yield* replied(message, "join", replies.joinFailed())
        }
        return yield* replied(message, "join", outcome.success.status === "joined" ? replies.joinDone() : replies.joinPending())
      })

      const handle = Effect.fn("Commands.handle")(function* (message: InboundMessage) {
        const [isSpawnedAgent, here] = yield* Effect.all(
          [
            ownership.isSpawnedAgent(message.senderInboxId),
            ownership.liveAgents(message.conversationId),
          ],
          { concurrency: 2 },
        )
        const kind = classifySender({
          senderInboxId: message.senderInboxId,
          selfInboxId: chat.selfInboxId,
          isSpawnedAgent,
          senderMemberKind: message.senderMemberKind,
        })
        if (kind === "self") return { _tag: "Ignored", why: kind } satisfies Outcome
        // Never answered, so never part of a loop through us: our own agents do not count towards the depth.
        if (kind === "spawned-agent") return { _tag: "Ignored", why: kind } satisfies Outcome
        const isAgent = kind !== "human"
        const now = Date.now()

        const ctx: MessageContext = {
          conversation: message.conversationKind,
          managerName: settings.name,
          repliesToManager: message.replyToInboxId?.toLowerCase() === chat.selfInboxId.toLowerCase(),
          knownAgents: here.map((a) => a.agentName),
        }
        // In a 1:1, a pasted invite for someone else's conversation means "join this"; one of our own invites is the
        // plain-text twin of a join request, which the join-request path already handles.
        const pasted = message.conversationKind === "dm" ? pastedInvite(message.text, chat.selfInboxId) : undefined
        if (pasted?.kind === "own") return { _tag: "Ignored", why: "own-invite" } satisfies Outcome
        const { intent, addressed } = pasted
          ? { intent: { kind: "join", inviteUrl: pasted.invite } satisfies Intent, addressed: true }
          : yield* parser.parse(message.text, ctx)
        const forManager = intent.kind !== "none" || addressed
        const conversationTraffic = heard(traffic.get(message.conversationId) ?? emptyTraffic, { isAgent, forManager, now }, settings.traffic)
        keepTraffic(message.conversationId, conversationTraffic)
        if (!forManager) return { _tag: "Ignored", why: "not-addressed" } satisfies Outcome

        const facts = { sender: message.senderInboxId, isAgent, understood: intent.kind !== "none", now }
        const silence = mayReply(conversationTraffic, facts, settings.traffic)
        if (pauseNotice(conversationTraffic, silence)) {
          yield* reply(message, replies.pausedForAgents(Math.max(1, Math.round((settings.traffic ?? defaultTrafficLimits).chainGapMs / 60_000))))
          keepTraffic(message.conversationId, repliedTo(conversationTraffic, { ...facts, pause: true }, settings.traffic))
          return { _tag: "Paused" } satisfies Outcome
        }
        if (silence !== null) return { _tag: "Ignored", why: silence } satisfies Outcome
        const outcome = yield* act(message, intent, here)
        keepTraffic(message.conversationId, repliedTo(traffic.get(message.conversationId) ?? emptyTraffic, facts, settings.traffic))
        return outcome
      })

      const act = Effect.fn("Commands.act")(function* (message: InboundMessage, intent: Intent, here: ReadonlyArray<AgentRecord>) {
        switch (intent.kind) {
          case "spawn":
            return yield* spawn(message, intent, here)
          case "list":
            return yield* replied(message, "list", replies.list(here))
          case "remove":
            return yield* remove(message, intent.agent)
          case "rename":
            return yield* rename(message, intent.agent, intent.newName)
          case "instruct":
            return yield* instruct(message, intent.agent, intent.instructions)
          case "join":
            return yield* join(message, intent.inviteUrl)
          case "templates":
            return yield* replied(message, "templates", replies.templates(yield* catalog.templates))
          case "help":
            return yield* replied(message, "help", replies.help(settings.name))
          case "clarify":
            return yield* replied(message, "clarify", intent.question)
          case "none":
            return yield* replied(message, "none", replies.didNotUnderstand())
        }
      })

      return Commands.of({ handle })
    }),
  )
}
