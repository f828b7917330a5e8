/**
 * One agent instance's Convos side: the XMTP transport, the binding, provisioning, and the inbound turn queue.
 * It knows nothing of OpenClaw: agent turns go through the `TurnRunner` it is given (inbound.ts in production,
 * a recording fake in unit tests).
 * Over 400 lines: one agent's ordered side effects (provision, join, greet, turns, leave) around one binding; what to
 * do is decided by pure functions elsewhere (binding.ts, manners.ts, joinWatch.ts, notices.ts).
 */
import { AsyncLocalStorage } from "node:async_hooks"
import type { ConfigureReply, ProvisionReply } from "../../../../contract/index.ts"
import {
  type BindingState,
  type ContractDecoders,
  bindAfterProvision,
  boundConversationId,
  decideConfigure,
  decideProvision,
  requestedPersona,
  decideReset,
  decideWelcome,
  type Persona,
  type ProvisionRequest,
} from "./binding.ts"
import { type BindingStore, type PersistedInstance } from "./bindingStore.ts"
import { backlogTurn, classifyInbound, type InboundTurn } from "./events.ts"
import { deliverInbound } from "./inboundNotice.ts"
import { planReply } from "./format.ts"
import { classifyOutbound, describeDropped, type PayloadFlags } from "./notices.ts"
import { type JoinWatchPolicy, nextJoinCheckInMs } from "./joinWatch.ts"
import { decideManners, defaultMannersPolicy, initialMannersState, type MannersPolicy, type MannersState } from "./manners.ts"
import type { ConvosTransport, TransportMessage, TransportWelcome } from "./transport.ts"

/** What the agent pipeline receives for one turn. */
export interface TurnRequest {
  readonly conversationId: string
  readonly messageId: string
  readonly senderInboxId: string
  readonly senderName: string
  readonly text: string
  readonly systemPrompt: string
  readonly timestamp: number
  readonly image?: { readonly filename: string; readonly mimeType: string; readonly data: Uint8Array }
  /** Called with each reply block the agent produces, and OpenClaw's flags on it (a notice is never sent). */
  readonly deliver: (text: string, flags?: PayloadFlags) => Promise<void>
}

export type TurnRunner = (request: TurnRequest) => Promise<void>

export interface InstanceLog {
  info(message: string): void
  warn(message: string): void
  error(message: string): void
  /** What was kept out of the chat (falls back to info). */
  debug?(message: string): void
}

export interface InstanceOptions {
  readonly transport: ConvosTransport
  readonly store: BindingStore
  /** The contract's decoders for provision and configure bodies. */
  readonly decode: ContractDecoders
  readonly runTurn: TurnRunner
  /** False when no model is configured: the agent then answers one line saying so. */
  readonly modelConfigured: boolean
  readonly log: InstanceLog
  readonly manners?: MannersPolicy
  /** How long a join waits for acceptance before answering pending_acceptance. */
  readonly joinWaitMs?: number
  readonly now?: () => number
  /** Pays the first-turn cost before reporting ready (skipped without a model). */
  readonly warmUp?: () => Promise<void>
  /** Reaction shown on a message while the model works on it. */
  readonly workingEmoji?: string
  /** How often a created conversation looks for its first member's join request (joinWatch.ts). */
  readonly joinWatch?: JoinWatchPolicy
}

export const NO_MODEL_REPLY =
  "I can't answer yet: no AI model is configured for me. Ask whoever set me up to add a model key (OPENROUTER_API_KEY or an OpenAI-compatible endpoint)."

export const greetingPrompt = (persona: Persona) =>
  `[System: you were just added to this group conversation as "${persona.agentName}". Write your welcome message now: ` +
  `one or two short lines in your own words that say who you are and how you can help, following your instructions. ` +
  `Do not mention this system note.]`

export const conversationSystemPrompt = (persona: Persona) =>
  [
    `Your name in this conversation is "${persona.agentName}". This is a Convos group chat: keep messages short, plain text, no markdown tables.`,
    persona.instructions.trim().length > 0 ? `Instructions from the person who set you up:\n${persona.instructions.trim()}` : "",
  ]
    .filter((part) => part.length > 0)
    .join("\n\n")

type Refusal = { readonly status: 400 | 409 | 500 | 503; readonly body: { readonly error: string } }

/** Typed with the contract's reply bodies, so an answer the pool would refuse to decode does not compile. */
export type ProvisionResponse = { readonly status: 200; readonly body: ProvisionReply } | Refusal

export type ConfigureResponse = { readonly status: 200; readonly body: ConfigureReply } | Refusal

export interface InstanceStatus {
  readonly ready: boolean
  readonly inboxId: string
  readonly installationId: string
  readonly conversationId: string | null
  readonly phase: BindingState["phase"]
  readonly ended: "removed" | "exploded" | null
  readonly joinedNotificationPending: boolean
}

const MAX_REMEMBERED_IDS = 500
/** How far back a restart answers what was sent while it was down: an answer to anything older would surprise more than help. */
const REPLAY_WINDOW_MS = 10 * 60_000
/** Messages that arrive while the backlog is read back wait for it at most this long. */
const REPLAY_MAX_WAIT_MS = 20_000
const remember = (ids: ReadonlyArray<string>, id: string) => [...ids.filter((x) => x !== id), id].slice(-MAX_REMEMBERED_IDS)

export class ConvosInstance {
  private persisted: PersistedInstance
  private manners: MannersState = initialMannersState
  private queue: Promise<void> = Promise.resolve()
  private streaming = false
  private warmedUp = false
  /** While the backlog is read back after a start: the turns to answer together (`answerBacklog`). */
  private backlog: Array<{ readonly messageId: string; readonly turn: InboundTurn }> | undefined
  /** Being deleted: nothing more is answered. */
  private leaving = false
  private readonly handledInMemory = new Set<string>()
  private withdrawExpectation: (() => void) | undefined
  private joinWatchTimer: ReturnType<typeof setTimeout> | undefined
  /**
   * Runs work in the async context of start() (the gateway's channel task). Turns triggered by an HTTP request
   * (provision → greeting) would otherwise inherit the request's context, and the gateway refuses new agent work
   * from a request that has already been answered.
   */
  private runInStartContext: <R>(fn: () => R) => R = (fn) => fn()

  constructor(private readonly options: InstanceOptions) {
    this.persisted = options.store.load()
    for (const id of this.persisted.handledMessageIds) this.handledInMemory.add(id)
  }

  get binding(): BindingState {
    return this.persisted.binding
  }

  /** Starts streaming, pays the first-turn cost, and finishes anything a restart interrupted. */
  async start(): Promise<void> {
    this.runInStartContext = AsyncLocalStorage.snapshot()
    await this.options.transport.start({
      onMessage: (message) => this.onMessage(message),
      onWelcome: (welcome) => this.onWelcome(welcome),
      onConversationEnded: (event) => {
        if (event.conversationId.toLowerCase() === boundConversationId(this.binding)) this.end(event.reason)
      },
      onMembersJoined: (event) => this.onMembersJoined(event.conversationId),
    })
    this.streaming = true
    const binding = this.binding
    if (binding.phase === "expecting_add") this.expect(binding.conversationId, binding.addedBy)
    // A provision that was mid-flight when we stopped cannot be resumed safely: report it as not clean.
    if (binding.phase === "provisioning") this.options.log.warn("a create/join was interrupted by a restart; the pool should reset or replace this instance")
    if (binding.phase === "bound" && !binding.greeted) {
      if (binding.mode !== "create") this.enqueueGreeting()
      // A created conversation is greeted once someone is in it, which may have happened while we were down.
      else
        await this.options.transport.hasOtherMembers(binding.conversationId).then(
          (populated) => (populated ? this.enqueueGreeting() : this.watchForJoins()),
          (error: unknown) => this.options.log.warn(`could not read the members of our conversation: ${errorMessage(error)}`),
        )
    }
    // What was sent to our conversation while we were down (a gateway crash, a restart) gets one turn: the live
    // stream starts at its open. What we handled before is skipped by id; older messages are left unanswered. The
    // turns read back (and any live one meanwhile) are collected and answered together (`backlogTurn`).
    if (binding.phase === "bound") {
      this.backlog = []
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, REPLAY_MAX_WAIT_MS).unref())
      void Promise.race([
        this.options.transport
          .replay(binding.conversationId, this.now() - REPLAY_WINDOW_MS)
          .catch((error: unknown) => this.options.log.warn(`could not read what was sent while we were down: ${errorMessage(error)}`)),
        deadline,
      ]).then(() => this.answerBacklog())
    }
    if (this.options.modelConfigured && this.options.warmUp) {
      const started = Date.now()
      try {
        await this.options.warmUp()
        this.options.log.info(`warm-up turn done in ${Date.now() - started} ms`)
        // The warm-up leaves a lot of garbage behind; an idle instance should not carry it (needs --expose-gc).
        ;(globalThis as { gc?: () => void }).gc?.()
      } catch (error) {
        // A failed warm-up only costs the first user a slower reply; it must not keep the instance unready.
        this.options.log.warn(`warm-up turn failed: ${errorMessage(error)}`)
      }
    }
    this.warmedUp = true
  }

  /**
   * The slot is being deleted: stop answering, let the turn in flight finish (bounded), and leave the bound
   * conversation, so the people there see the agent go. Waits at most `timeoutMs` in all.
   */
  async leave(timeoutMs: number): Promise<{ readonly left: string | null }> {
    this.leaving = true
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref())
    await Promise.race([this.queue.catch(() => undefined), deadline])
    const binding = this.binding
    const conversationId = binding.phase === "bound" || binding.phase === "ended" ? binding.conversationId : null
    if (conversationId === null || binding.phase === "ended") return { left: null }
    await Promise.race([this.options.transport.leave(conversationId), deadline.then(() => Promise.reject(new Error(`no answer within ${timeoutMs} ms`)))])
    this.options.log.info(`left conversation ${conversationId}`)
    return { left: conversationId }
  }

  async stop(): Promise<void> {
    this.streaming = false
    clearTimeout(this.joinWatchTimer)
    this.joinWatchTimer = undefined
    await this.queue.catch(() => undefined)
    await this.options.transport.stop()
  }

  status(): InstanceStatus {
    const binding = this.binding
    return {
      ready: this.streaming && this.warmedUp && !this.leaving && binding.phase !== "ended",
      inboxId: this.options.transport.inboxId,
      installationId: this.options.transport.installationId,
      conversationId: boundConversationId(binding),
      phase: binding.phase,
      ended: binding.phase === "ended" ? binding.reason : null,
      joinedNotificationPending: this.persisted.joinedNotificationPending,
    }
  }

  acknowledgeJoinedNotification(): void {
    this.save({ ...this.persisted, joinedNotificationPending: false })
  }

  async provision(body: unknown): Promise<ProvisionResponse> {
    const validation = this.options.decode.provision(body)
    if (!validation.ok) return { status: 400, body: { error: validation.error } }
    if (!this.status().ready) return { status: 503, body: { error: "instance is not ready yet" } }
    const request = validation.value
    const decision = decideProvision(this.binding, request)
    if (!decision.accept) return { status: decision.status, body: { error: decision.error } }
    this.save({ ...this.persisted, binding: decision.next, managerInboxId: request.managerInboxId ?? null })
    try {
      switch (request.mode) {
        case "add":
          this.expect(request.conversationId, request.addedBy)
          return { status: 200, body: { status: "added", conversationId: request.conversationId, inviteUrl: null } }
        case "create":
          return await this.provisionCreate(request)
        case "join":
          return await this.provisionJoin(request)
      }
    } catch (error) {
      // Nothing was bound: go back to idle so a reset reports clean and the pool can retry or reap.
      if (this.binding.phase === "provisioning") this.setBinding({ phase: "idle" })
      this.options.log.error(`provision (${request.mode}) failed: ${errorMessage(error)}`)
      return { status: 500, body: { error: `provision failed: ${errorMessage(error)}` } }
    }
  }

  reset(): { readonly clean: boolean } {
    const { next, clean } = decideReset(this.binding)
    if (next.phase === "idle") {
      this.withdrawExpectation?.()
      this.withdrawExpectation = undefined
      this.save({ ...this.persisted, binding: next, managerInboxId: null })
    } else if (next !== this.binding) this.setBinding(next)
    return { clean }
  }

  /**
   * A new display name and/or instructions. The profile name changes first, so a failure leaves the agent exactly
   * as it was; the instructions take effect from the next turn (the system prompt is built per turn).
   */
  async configure(body: unknown): Promise<ConfigureResponse> {
    const validation = this.options.decode.configure(body)
    if (!validation.ok) return { status: 400, body: { error: validation.error } }
    const decision = decideConfigure(this.binding, validation.value)
    if (!decision.accept) return { status: decision.status, body: { error: decision.error } }
    if (decision.renameIn !== null) {
      try {
        await this.options.transport.setProfileName(decision.renameIn, decision.persona.agentName)
      } catch (error) {
        this.options.log.error(`rename failed: ${errorMessage(error)}`)
        return { status: 500, body: { error: `could not change the profile name: ${errorMessage(error)}` } }
      }
    }
    // A turn may have run while the profile was written: apply the change to the binding as it is now.
    const now = decideConfigure(this.binding, validation.value)
    if (!now.accept) return { status: now.status, body: { error: now.error } }
    this.setBinding(now.next)
    this.options.log.info(`configured: ${Object.keys(validation.value).join(" and ")} changed`)
    return { status: 200, body: { status: "configured", agentName: now.persona.agentName } }
  }

  private expect(conversationId: string, addedBy: string): void {
    this.withdrawExpectation?.()
    this.withdrawExpectation = this.options.transport.expectAdd(conversationId, addedBy)
  }

  private async provisionCreate(request: ProvisionRequest): Promise<ProvisionResponse> {
    const created = await this.options.transport.createConversation({ name: request.agentName, profileName: request.agentName })
    this.bindTo(created.conversationId, "create")
    return { status: 200, body: { status: "created", conversationId: created.conversationId, inviteUrl: created.inviteUrl } }
  }

  private async provisionJoin(request: Extract<ProvisionRequest, { readonly mode: "join" }>): Promise<ProvisionResponse> {
    const inviteUrl = request.joinUrl
    const outcome = await this.options.transport.joinByInvite(inviteUrl, {
      profileName: request.agentName,
      waitMs: this.options.joinWaitMs ?? 10_000,
    })
    if (outcome.status === "joined") {
      this.bindTo(outcome.conversationId, "join")
      return { status: 200, body: { status: "joined", conversationId: outcome.conversationId, inviteUrl: null } }
    }
    this.setBinding({ phase: "joining", inviteUrl, persona: requestedPersona(request) })
    outcome.accepted.then(
      (conversationId) => {
        if (this.binding.phase !== "joining") {
          this.options.log.warn("a join was accepted after the provision was reset; not binding")
          return
        }
        this.bindTo(conversationId, "join")
        this.save({ ...this.persisted, joinedNotificationPending: true })
        this.renameIfChangedSince(request.agentName)
      },
      (error: unknown) => {
        this.options.log.error(`join was not accepted: ${errorMessage(error)}`)
        if (this.binding.phase === "joining") this.setBinding({ phase: "idle" })
      },
    )
    return { status: 200, body: { status: "pending_acceptance", conversationId: null, inviteUrl: null } }
  }

  private bindTo(conversationId: string, mode: "create" | "join"): void {
    this.setBinding(bindAfterProvision(this.binding, conversationId, mode))
    this.afterBind()
  }

  private afterBind(): void {
    const binding = this.binding
    if (binding.phase !== "bound") return
    this.options.log.info(`bound to conversation ${binding.conversationId} (${binding.mode})`)
    // create and join already carried the profile; an add is the first time we can write it.
    if (binding.mode === "add") this.writeProfileName(binding.conversationId, binding.persona.agentName)
    // A conversation we just created has nobody in it yet (a joiner cannot read what was sent before they came):
    // it is greeted when its first member joins.
    if (binding.mode !== "create") this.enqueueGreeting()
    else this.watchForJoins()
  }

  /**
   * Until its first member joins, a created conversation looks for their join request itself (joinWatch.ts): the
   * live stream can lose it, and the periodic sweep would find it only seconds later.
   */
  private watchForJoins(startedAt: number = Date.now(), failing = false): void {
    clearTimeout(this.joinWatchTimer)
    const delay = nextJoinCheckInMs(Date.now() - startedAt, this.options.joinWatch)
    if (delay === null) return
    this.joinWatchTimer = setTimeout(() => {
      const binding = this.binding
      if (!this.streaming || binding.phase !== "bound" || binding.greeted) return
      this.options.transport.checkJoinRequests().then(
        () => this.joinWatchTimer !== undefined && this.watchForJoins(startedAt),
        (error: unknown) => {
          // Reported once per failing run: while the network is down this fails every few hundred ms.
          if (!failing) this.options.log.warn(`could not look for join requests: ${errorMessage(error)}`)
          if (this.joinWatchTimer !== undefined) this.watchForJoins(startedAt, true)
        },
      )
    }, delay)
    this.joinWatchTimer.unref?.()
  }

  /** A pending join carried the name of its time; the agent may have been renamed while it waited. */
  private renameIfChangedSince(sentName: string): void {
    const binding = this.binding
    if (binding.phase === "bound" && binding.persona.agentName !== sentName) this.writeProfileName(binding.conversationId, binding.persona.agentName)
  }

  private writeProfileName(conversationId: string, name: string): void {
    this.options.transport.setProfileName(conversationId, name).catch((error: unknown) => {
      this.options.log.warn(`could not set the profile name: ${errorMessage(error)}`)
    })
  }

  private onWelcome(welcome: TransportWelcome): void {
    const decision = decideWelcome(this.binding, welcome)
    if (!decision.bind) {
      this.options.log.info(`ignoring welcome to ${welcome.conversationId}: ${decision.reason}`)
      return
    }
    this.withdrawExpectation = undefined
    this.setBinding(decision.next)
    this.afterBind()
  }

  /**
   * Someone is now in our conversation: greet, once (a created conversation waits for its first member), and write
   * our profile again. A new member cannot read what was sent before it joined, so our earlier profile update (the
   * only place our `memberKind` Agent is written; appData profiles carry names) never reaches it: another agent
   * would take us for a person and drop its side of the manners' loop limits.
   */
  private onMembersJoined(conversationId: string): void {
    const binding = this.binding
    if (binding.phase !== "bound" || binding.conversationId !== conversationId.toLowerCase()) return
    this.writeProfileName(binding.conversationId, binding.persona.agentName)
    if (!binding.greeted) {
      clearTimeout(this.joinWatchTimer)
      this.joinWatchTimer = undefined
      this.enqueueGreeting()
    }
  }

  private onMessage(message: TransportMessage): void {
    if (this.leaving || this.handledInMemory.has(message.id)) return
    const action = classifyInbound(message, {
      selfInboxId: this.options.transport.inboxId,
      boundConversationId: this.binding.phase === "bound" ? this.binding.conversationId : null,
      ownMessageIds: new Set(this.persisted.ownMessageIds),
      managerInboxId: this.persisted.managerInboxId,
    })
    if (action.kind === "ignore") return
    // A turn counts as handled once it has run; everything else once it is seen.
    if (action.kind === "turn") this.handledInMemory.add(message.id)
    else this.markHandled(message.id)
    if (action.kind === "ended") {
      this.end(action.reason)
      return
    }
    const binding = this.binding
    if (binding.phase !== "bound") return
    if (action.kind === "members_added") {
      this.onMembersJoined(binding.conversationId)
      return
    }
    const verdict = decideManners(
      this.manners,
      {
        senderIsAgent: action.turn.senderIsAgent,
        text: action.turn.text,
        repliesToUs: action.turn.repliesToUs,
        weAreTheOnlyAgent: action.turn.weAreTheOnlyAgent,
        now: this.now(),
      },
      binding.persona.agentName,
      this.options.manners ?? defaultMannersPolicy,
    )
    this.manners = verdict.next
    if (!verdict.answer) {
      this.options.log.info(`not answering agent message ${message.id}: ${verdict.reason}`)
      this.markHandled(message.id)
      return
    }
    if (this.backlog) {
      this.backlog.push({ messageId: message.id, turn: action.turn })
      return
    }
    this.enqueueTurn(action.turn, [message.id])
  }

  /**
   * Queues a turn for these messages. A turn that failed, or whose only output was a notice kept out of the chat
   * (OpenClaw's "gateway is restarting" when a drain caught it), leaves them unhandled: after a restart they are read
   * back and get their turn.
   */
  private enqueueTurn(turn: InboundTurn, messageIds: ReadonlyArray<string>): void {
    this.enqueue(async () => {
      if ((await this.runInboundTurn(turn)) !== "kept_out") for (const id of messageIds) this.markHandled(id)
    })
  }

  /** The messages collected while reading back, answered in one turn; from now on each message gets its own. */
  private answerBacklog(): void {
    const backlog = this.backlog ?? []
    this.backlog = undefined
    // Stopped meanwhile: the messages stay unhandled, and the next start reads them back.
    if (!this.streaming) return
    const turn = backlogTurn(backlog.map((entry) => entry.turn))
    if (turn) this.enqueueTurn(turn, backlog.map((entry) => entry.messageId))
  }

  /** Runs an inbound turn; says whether something reached the chat, nothing did, or only notices kept out of it. */
  private async runInboundTurn(turn: InboundTurn): Promise<"answered" | "silent" | "kept_out"> {
    // The persona as it is when the turn runs: a rename or new instructions apply to turns already queued.
    const binding = this.binding
    if (binding.phase !== "bound") return "silent"
    const persona = binding.persona
    const conversationId = turn.conversationId
    if (!this.options.modelConfigured) {
      await this.send(conversationId, NO_MODEL_REPLY, turn.replyTo)
      return "answered"
    }
    const emoji = this.options.workingEmoji ?? "👀"
    const transport = this.options.transport
    const shown = await transport.react(conversationId, turn.replyTo, emoji, "added").then(
      () => true,
      (error: unknown) => {
        this.options.log.warn(`could not show the working reaction: ${errorMessage(error)}`)
        return false
      },
    )
    let replyTo: string | undefined = turn.replyTo
    let sent = false
    let keptOut = false
    try {
      await this.options.runTurn({
        conversationId,
        messageId: turn.messageId,
        senderInboxId: turn.senderInboxId,
        senderName: turn.senderName,
        text: turn.text,
        systemPrompt: conversationSystemPrompt(persona),
        timestamp: turn.timestamp,
        ...(turn.image ? { image: turn.image } : {}),
        deliver: async (text, flags) => {
          if ((await this.send(conversationId, text, replyTo, flags)).length > 0) {
            replyTo = undefined
            sent = true
          } else keptOut = true
        },
      })
    } finally {
      if (shown) {
        await transport.react(conversationId, turn.replyTo, emoji, "removed").catch((error: unknown) => {
          this.options.log.warn(`could not remove the working reaction: ${errorMessage(error)}`)
        })
      }
    }
    return sent ? "answered" : keptOut ? "kept_out" : "silent"
  }

  private enqueueGreeting(): void {
    this.enqueue(async () => {
      const binding = this.binding
      if (binding.phase !== "bound" || binding.greeted) return
      // A greeting turn that only produced a notice (the gateway stopping under it) is tried again after a restart.
      let sentAny = false
      let keptOut = false
      if (!this.options.modelConfigured) {
        await this.send(binding.conversationId, NO_MODEL_REPLY)
      } else {
        await this.options.runTurn({
          conversationId: binding.conversationId,
          messageId: `greeting-${binding.conversationId}`,
          senderInboxId: "system",
          senderName: "System",
          text: greetingPrompt(binding.persona),
          systemPrompt: conversationSystemPrompt(binding.persona),
          timestamp: this.now(),
          deliver: async (text, flags) => {
            const sent = await this.send(binding.conversationId, text, undefined, flags)
            if (sent.length > 0) sentAny = true
            else keptOut = true
          },
        })
      }
      const after = this.binding
      if (after.phase === "bound" && (sentAny || !keptOut)) this.setBinding({ ...after, greeted: true })
    })
  }

  /** `POST …/inbound`: the contract's notice, decoded, told to the conversation. */
  inbound(body: unknown): { readonly status: number; readonly body: unknown } {
    return deliverInbound(this, this.options.decode.inbound, body)
  }

  /**
   * Something arrived for the agent (an email, a text) or failed (inboundNotice.ts): a turn in its conversation whose
   * `prompt` asks it to say so briefly; without a model, `plain` is sent as is. False when it has no conversation.
   */
  tell(prompt: string, plain: string): boolean {
    if (this.binding.phase !== "bound") return false
    this.enqueue(async () => {
      const binding = this.binding
      if (binding.phase !== "bound") return
      if (!this.options.modelConfigured) {
        await this.send(binding.conversationId, plain)
        return
      }
      const timestamp = this.now()
      await this.options.runTurn({
        conversationId: binding.conversationId,
        messageId: `inbound-${timestamp}`,
        senderInboxId: "system",
        senderName: "System",
        text: prompt,
        systemPrompt: conversationSystemPrompt(binding.persona),
        timestamp,
        deliver: async (text, flags) => {
          await this.send(binding.conversationId, text, undefined, flags)
        },
      })
    })
    return true
  }

  /**
   * Proactive sends (message tool, reminders, OpenClaw's restart recovery, `openclaw agent --deliver`): only ever to
   * the bound conversation, named by its id or by a route target (`convos:<id>`, as turns set `OriginatingTo`).
   */
  async sendToBound(to: string, text: string): Promise<string> {
    const binding = this.binding
    if (binding.phase !== "bound") throw new Error("this agent is not bound to a conversation yet")
    if (conversationIdOfTarget(to) !== binding.conversationId) throw new Error(`this agent only sends to its own conversation ${binding.conversationId}`)
    const ids = await this.send(binding.conversationId, text)
    const last = ids.at(-1)
    // A notice kept out of the chat counts as delivered (no message id): OpenClaw must not retry it.
    if (last === undefined && classifyOutbound(text).send) throw new Error("nothing to send: the text is empty")
    return last ?? ""
  }

  /** Every message to a chat goes out here; nothing internal passes (notices.ts). */
  private async send(conversationId: string, text: string, replyTo?: string, flags?: PayloadFlags): Promise<Array<string>> {
    const ids: Array<string> = []
    const verdict = classifyOutbound(text, flags)
    if (!verdict.send) {
      const log = this.options.log
      ;(log.debug ?? log.info)(`kept out of the chat: ${describeDropped(text, verdict.reason)}`)
      return ids
    }
    for (const planned of planReply(text, replyTo)) {
      if (planned.text.length === 0) continue
      const sent = await this.options.transport.sendText(conversationId, planned.text, planned.replyTo !== undefined ? { replyTo: planned.replyTo } : {})
      this.save({ ...this.persisted, ownMessageIds: remember(this.persisted.ownMessageIds, sent.messageId) })
      ids.push(sent.messageId)
    }
    return ids
  }

  private end(reason: "removed" | "exploded"): void {
    const conversationId = boundConversationId(this.binding)
    if (conversationId === null || this.binding.phase === "ended") return
    this.options.log.warn(`conversation ${conversationId} ended for us (${reason}); the instance will self-destruct`)
    this.setBinding({ phase: "ended", conversationId, reason })
  }

  private enqueue(task: () => Promise<void>): void {
    const run = this.runInStartContext
    this.queue = this.queue.then(() => run(task)).catch((error: unknown) => {
      this.options.log.error(`agent turn failed: ${errorMessage(error)}`)
    })
  }

  /** Resolves when every queued turn so far has finished (tests, shutdown). */
  idle(): Promise<void> {
    return this.queue
  }

  private markHandled(messageId: string): void {
    this.handledInMemory.add(messageId)
    this.save({ ...this.persisted, handledMessageIds: remember(this.persisted.handledMessageIds, messageId) })
  }

  private setBinding(binding: BindingState): void {
    this.save({ ...this.persisted, binding })
  }

  private save(next: PersistedInstance): void {
    this.persisted = next
    this.options.store.save(next)
  }

  private now(): number {
    return (this.options.now ?? Date.now)()
  }
}

/** A send target as OpenClaw passes it (`convos:<id>`, `convos:group:<id>` or the bare id) → the conversation id. */
export const conversationIdOfTarget = (raw: string): string => raw.trim().replace(/^convos:/i, "").replace(/^group:/i, "").toLowerCase()

const personaOf = (state: BindingState): Persona | undefined => ("persona" in state ? state.persona : undefined)

export const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error))
