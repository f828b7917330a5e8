/**
 * The manager's loop: every chat event becomes one `Commands.handle` call. Messages of one conversation are
 * handled one at a time, in order (so two quick "spawn" messages cannot both slip under the quota); different
 * conversations run concurrently. A failing message is logged and answered briefly; the loop never dies.
 */
import { Cause, Duration, Effect, FiberSet, Layer, Schedule, Stream } from "effect"
import { RecentIds } from "../../../convos/events.ts"
import { makeKeyedLock } from "../keyedLock.ts"
import { Commands, type Outcome } from "../commands/Commands.ts"
import { replies } from "../commands/replies.ts"
import { Ownership } from "../db/Ownership.ts"
import { ManagerSettings } from "../ManagerSettings.ts"
import { Chat, type ChatEvent, type InboundMessage } from "../ports/Chat.ts"

/** Restarts the inbound stream after an error: quick at first, then at most every 30 s, forever. */
const streamRestart = Schedule.min([Schedule.exponential("200 millis"), Schedule.spaced("30 seconds")])

export interface ManagerBotHooks {
  /** Called after each handled message (tests and the benchmark observe the manager through it). */
  readonly onOutcome?: (message: InboundMessage, outcome: Outcome) => void
}

export const runManagerBot = (hooks: ManagerBotHooks = {}) =>
  Effect.gen(function* () {
    const chat = yield* Chat
    const commands = yield* Commands
    const ownership = yield* Ownership
    const settings = yield* ManagerSettings
    const fibers = yield* FiberSet.make()
    const inConversationOrder = makeKeyedLock()
    const seen = new RecentIds()

    const onMessage = (message: InboundMessage) =>
      commands.handle(message).pipe(
        Effect.timed,
        Effect.tap(([took, outcome]) =>
          outcome._tag === "Ignored"
            ? Effect.logDebug("not acting on a message", { why: outcome.why })
            : Effect.logInfo("handled a message", {
                outcome: outcome._tag,
                ...(outcome._tag === "Replied" ? { intent: outcome.intent } : {}),
                ms: Math.round(Duration.toMillis(took)),
              }),
        ),
        Effect.map(([, outcome]) => outcome),
        Effect.tap((outcome) => Effect.sync(() => hooks.onOutcome?.(message, outcome))),
        Effect.catchCause((cause) =>
          Effect.logError("handling a message failed", Cause.pretty(cause)).pipe(
            Effect.andThen(chat.sendText(message.conversationId, "Something went wrong on my side; please try again.")),
            Effect.ignore,
          ),
        ),
      )

    /** Says hello once per conversation: the short intro in a group it joined, what it can do at the front door. */
    const introduce = (conversationId: string, text: string) =>
      ownership.markIntroduced(conversationId).pipe(
        Effect.flatMap((first) => (first ? chat.sendText(conversationId, text) : Effect.void)),
        Effect.catchCause((cause) => Effect.logError("introduction failed", Cause.pretty(cause))),
      )

    const onMembersRemoved = (conversationId: string, inboxIds: ReadonlyArray<string>) =>
      ownership.markLeft(conversationId, inboxIds).pipe(
        Effect.flatMap((left) =>
          left.length === 0 ? Effect.void : Effect.logInfo("agents left a conversation", { count: left.length }),
        ),
        Effect.catchCause((cause) => Effect.logError("recording a departure failed", Cause.pretty(cause))),
      )

    const onEvent = (event: ChatEvent) => {
      if (event._tag === "JoinedGroup") return introduce(event.conversationId, replies.intro(settings.name))
      if (event._tag === "FrontDoorOpened") return introduce(event.conversationId, replies.welcome(settings.name))
      if (event._tag === "MembersRemoved") return onMembersRemoved(event.conversationId, event.inboxIds)
      // The chat port may deliver a message twice (a chat other than convos', or one reopened after a failure): act
      // once, with the same bounded memory of recent ids the convos client keeps.
      return seen.firstSeen(event.messageId) ? onMessage(event) : Effect.void
    }

    yield* Effect.logInfo(`${settings.name} is listening`, { inboxId: chat.selfInboxId })
    yield* chat.events.pipe(
      Stream.runForEach((event) => {
        const conversationId = event.conversationId
        return FiberSet.run(fibers, inConversationOrder(conversationId, onEvent(event)))
      }),
      Effect.tapCause((cause) => Effect.logWarning("chat stream failed; restarting", Cause.pretty(cause))),
      Effect.retry(streamRestart),
    )
  })

/** The bot as a scoped background layer: starts with the layer, stops (interrupting in-flight work) with it. */
export const ManagerBotLayer = (hooks: ManagerBotHooks = {}) =>
  Layer.effectDiscard(Effect.forkScoped(runManagerBot(hooks)))
