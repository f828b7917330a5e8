import { Effect, Layer, ManagedRuntime, Stream } from "effect"
import { describe, expect, it } from "vitest"
import { runManagerBot } from "../src/bot/ManagerBot.ts"
import { Commands, type Outcome } from "../src/commands/Commands.ts"
import { Ownership } from "../src/db/Ownership.ts"
import { ManagerSettings } from "../src/ManagerSettings.ts"
import { defaultLimits } from "../src/commands/policy.ts"
import { Chat, type ChatEvent, type InboundMessage } from "../src/ports/Chat.ts"

const message = (messageId: string, conversationId: string, text: string): ChatEvent => ({
  _tag: "Message",
  messageId,
  conversationId,
  conversationKind: "group",
  senderInboxId: "alice",
  text,
  sentAt: new Date(),
})

/** Runs the bot over a fixed list of events with a scripted `Commands.handle`; returns what happened. */
const runBot = async (
  events: ReadonlyArray<ChatEvent>,
  handle: (m: InboundMessage) => Effect.Effect<Outcome>,
  /** Until when to let the forked handlers run (a loaded CI machine is slow); by default a short moment. */
  settled?: (sent: ReadonlyArray<{ conversationId: string; text: string }>) => boolean,
) => {
  const sent: Array<{ conversationId: string; text: string }> = []
  const introduced = new Set<string>()
  const chat = Layer.succeed(
    Chat,
    Chat.of({
      selfInboxId: "manager",
      events: Stream.fromIterable(events),
      sendText: (conversationId, text) => Effect.sync(() => void sent.push({ conversationId, text })),
      addMembers: () => Effect.die("unused"),
      removeMembers: () => Effect.die("unused"),
      canAddMembers: () => Effect.die("unused"),
      isAdmin: () => Effect.die("unused"),
      memberInboxIds: () => Effect.die("unused"),
      askedToLeave: () => Effect.die("unused"),
      joinByInvite: () => Effect.die("unused"),
    }),
  )
  const ownership = Layer.succeed(
    Ownership,
    Ownership.of({
      markIntroduced: (id) => Effect.sync(() => (introduced.has(id) ? false : (introduced.add(id), true))),
      markLeft: () => Effect.succeed([]),
      record: () => Effect.die("unused"),
      liveAgents: () => Effect.die("unused"),
      spawnsSince: () => Effect.die("unused"),
      globalSpawnFacts: () => Effect.die("unused"),
      isSpawnedAgent: () => Effect.die("unused"),
      markRemoved: () => Effect.die("unused"),
      rename: () => Effect.die("unused"),
    }),
  )
  const runtime = ManagedRuntime.make(
    Layer.mergeAll(
      chat,
      ownership,
      Layer.succeed(Commands, Commands.of({ handle })),
      ManagerSettings.layerOf({ name: "Manager", limits: defaultLimits }),
    ),
  )
  // The stream is finite: the bot returns once every event's fiber is forked; give them time to finish.
  const wait = settled === undefined
    ? Effect.sleep("150 millis")
    : Effect.gen(function*() {
      const deadline = Date.now() + 10_000
      while (!settled(sent) && Date.now() < deadline) yield* Effect.sleep("10 millis")
    })
  await runtime.runPromise(Effect.scoped(runManagerBot().pipe(Effect.andThen(wait))))
  await runtime.dispose()
  return { sent }
}

describe("the bot loop", () => {
  it("answers a message whose handling crashed with one short line, and goes on with the next", async () => {
    const handled: Array<string> = []
    const { sent } = await runBot([message("1", "g1", "boom"), message("2", "g2", "fine")], (m) =>
      m.text === "boom" ? Effect.die(new Error("secret-token-xyz exploded")) : Effect.sync(() => (handled.push(m.messageId), { _tag: "Replied", intent: "help" } as const)),
    (sent) => handled.length >= 1 && sent.length >= 1)
    expect(handled).toEqual(["2"])
    expect(sent).toEqual([{ conversationId: "g1", text: "Something went wrong on my side; please try again." }])
  })

  it("handles a message delivered twice only once", async () => {
    const handled: Array<string> = []
    await runBot([message("1", "g1", "a"), message("1", "g1", "a"), message("2", "g1", "b")], (m) =>
      Effect.sync(() => (handled.push(m.messageId), { _tag: "Replied", intent: "help" } as const)),
    () => handled.includes("2"))
    expect(handled).toEqual(["1", "2"])
  })

  it("handles one conversation's messages in order, even when the first is slow", async () => {
    const finished: Array<string> = []
    await runBot([message("1", "g1", "slow"), message("2", "g1", "fast")], (m) =>
      Effect.sleep(m.text === "slow" ? "60 millis" : "1 millis").pipe(
        Effect.andThen(Effect.sync(() => (finished.push(m.messageId), { _tag: "Replied", intent: "help" } as const))),
      ), () => finished.length >= 2)
    expect(finished).toEqual(["1", "2"])
  })

  it("greets a front-door joiner once, in its own conversation, with what it can do", async () => {
    const { sent } = await runBot(
      [
        { _tag: "FrontDoorOpened", conversationId: "p1" },
        { _tag: "FrontDoorOpened", conversationId: "p1" },
        { _tag: "FrontDoorOpened", conversationId: "p2" },
      ],
      () => Effect.die("no messages"),
      (sent) => sent.length >= 2,
    )
    expect(sent.map((s) => s.conversationId)).toEqual(["p1", "p2"])
    expect(sent[0]!.text).toMatch(/^Hi, this is your own conversation with me, Manager: nobody else is in it\.\nI'm Manager: I add AI agents/)
  })

  it("introduces itself once per group it joins", async () => {
    const { sent } = await runBot(
      [
        { _tag: "JoinedGroup", conversationId: "g1" },
        { _tag: "JoinedGroup", conversationId: "g1" },
      ],
      () => Effect.die("no messages"),
    )
    expect(sent.map((s) => s.conversationId)).toEqual(["g1"])
    expect(sent[0]!.text).toMatch(/^Hi, I'm Manager\./)
  })
})
