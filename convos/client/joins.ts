/**
 * How a group becomes ours: we created it, someone we expected added us (`expectAdd`), we joined it by invite
 * (`joinByInvite`), or, under `accept_all`, anyone added us. Which one is decided by the pure `decideBinding`,
 * once per group, whichever path saw it first (either stream, the local welcome check, a join or an expectation).
 */
import { JoinRequestCodec } from "../contentTypes.ts"
import {
  inviteToSlug,
  isInviteExpired,
  isWellFormedInviteSignature,
  parseInvite,
  recoverInviteSigner,
  type ParsedInvite,
} from "../invite.ts"
import { readAppData } from "../metadata.ts"
import { sendProfileUpdate } from "./conversations.ts"
import { sameId, type ClientCore } from "./core.ts"
import { deferred, type Deferred } from "./deferred.ts"
import { Consent, Group, listGroups, sendEncoded, type XmtpGroup } from "./sdk.ts"
import { ConvosClientError, type ExpectAddOptions, type JoinOptions, type JoinResult } from "./types.ts"

const LOCAL_CHECK_MS = 100
const UNDECIDED_CHECK_MS = 1_000
const WELCOME_SYNC_EVERY_MS = 5_000

/** What we know about a group when deciding whether it is ours. */
export interface BindingFacts {
  consent: "unknown" | "allowed" | "denied"
  /** An `expectAdd` waits for this group (and, if it named one, this adder). */
  expected: boolean
  /** A join by invite waits for a group with this group's tag. */
  joining: boolean
  addedBySelf: boolean
  acceptAll: boolean
  /** The local check only ever accepts: refusing stays with the streams (see `scheduleLocalCheck`). */
  acceptOnly: boolean
}

export type Binding =
  /** Ours already: nothing to announce. */
  | { kind: "bound" }
  | { kind: "bind"; via: "created" | "added" | "invite" }
  /** A welcome nobody told us about: deny it (its messages are never delivered) and say so. */
  | { kind: "ignore" }
  /** Not ours, and not decided here. */
  | { kind: "undecided" }

export const decideBinding = (facts: BindingFacts): Binding => {
  if (facts.consent === "allowed") return { kind: "bound" }
  if (facts.expected) return { kind: "bind", via: "added" }
  if (facts.joining) return { kind: "bind", via: "invite" }
  if (facts.consent === "unknown" && facts.addedBySelf) return { kind: "bind", via: "created" }
  if (facts.consent === "unknown" && facts.acceptAll) return { kind: "bind", via: "added" }
  return facts.consent === "unknown" && !facts.acceptOnly ? { kind: "ignore" } : { kind: "undecided" }
}

const consentName = (state: number): BindingFacts["consent"] =>
  state === Consent.Allowed ? "allowed" : state === Consent.Denied ? "denied" : "unknown"

interface AddExpectation {
  addedBy?: string
  pending: Deferred<{ conversationId: string; addedByInboxId: string }>
}

interface PendingJoin {
  tag: string
  creatorInboxId: string
  waiters: Set<Deferred<{ conversationId: string }>>
  joined?: string
}

export class Joins {
  private readonly expectations = new Map<string, Set<AddExpectation>>()
  private readonly pendingJoins = new Map<string, PendingJoin>()
  private welcomeSyncFailing = false
  private lastWelcomeSyncAt = Date.now()
  private localCheckRunning = false
  private localCheckTimer: NodeJS.Timeout | undefined
  private localCheck: Promise<void> = Promise.resolve()

  constructor(private readonly core: ClientCore) {}

  /**
   * Decides, once, whether a group is ours: called from both streams because a group's first message can arrive
   * before its welcome is seen on the welcome stream.
   */
  async bindGroup(group: XmtpGroup, options: { acceptOnly?: boolean } = {}): Promise<boolean> {
    const core = this.core
    const addedBy = group.addedByInboxId
    const matching = [...(this.expectations.get(group.id) ?? [])].filter((e) => e.addedBy === undefined || sameId(e.addedBy, addedBy))
    const pendingJoin = this.pendingJoins.get(readAppData(group.appData).tag)
    const binding = decideBinding({
      consent: consentName(core.consentOf(group)),
      expected: matching.length > 0,
      joining: pendingJoin !== undefined && !pendingJoin.joined,
      addedBySelf: core.isSelf(addedBy),
      acceptAll: core.options.welcomePolicy === "accept_all",
      acceptOnly: options.acceptOnly === true,
    })
    if (binding.kind === "ignore") {
      core.setConsent(group, Consent.Denied)
      core.emitConversation({ type: "ignored", conversationId: group.id, addedByInboxId: addedBy })
    }
    if (binding.kind === "ignore" || binding.kind === "undecided") return false
    if (binding.kind === "bind") {
      core.setConsent(group, Consent.Allowed)
      core.emitConversation({ type: "joined", conversationId: group.id, via: binding.via, addedByInboxId: addedBy })
    }
    for (const expectation of matching) expectation.pending.succeed({ conversationId: group.id, addedByInboxId: addedBy })
    if (pendingJoin && !pendingJoin.joined) {
      pendingJoin.joined = group.id
      for (const waiter of [...pendingJoin.waiters]) waiter.succeed({ conversationId: group.id })
    }
    return true
  }

  /**
   * Sends a join request to the invite's creator and waits for the welcome of the group carrying the invite's tag.
   * `pending_acceptance` when the creator has not added us within `timeoutMs` (its client may be offline).
   */
  async joinByInvite(inviteUrl: string, options: JoinOptions = {}): Promise<JoinResult> {
    const core = this.core
    core.assertOpen()
    let invite: ParsedInvite
    try {
      invite = parseInvite(inviteUrl)
    } catch (error) {
      throw new ConvosClientError("invalid_invite", (error as Error).message)
    }
    if (!isWellFormedInviteSignature(invite.signature)) throw new ConvosClientError("invalid_invite", "the invite signature is malformed")
    if (isInviteExpired(invite, new Date())) throw new ConvosClientError("invite_expired", "the invite has expired")
    if (core.isSelf(invite.creatorInboxId)) throw new ConvosClientError("own_invite", "this client created the invite")

    const pending = this.pendingJoinFor(invite)
    const already = listGroups(core.xmtp).find((g) => readAppData(g.appData).tag === invite.tag)
    if (already) await this.bindGroup(already)
    const wait = this.waitForPendingJoin(pending, options)
    // Mark handled now: if sending fails below, the waiter is failed and nobody awaits it.
    wait.catch(() => undefined)
    const abandon = (error: ConvosClientError | unknown): never => {
      for (const waiter of [...pending.waiters]) waiter.fail(error instanceof Error ? error : new Error(String(error)))
      if (!pending.joined && pending.waiters.size === 0) this.pendingJoins.delete(pending.tag)
      throw error
    }
    if (!already) {
      // Signature recovery is pure CPU (~10 ms here): let it overlap the network round trips of opening the DM.
      const existingDm = core.xmtp.conversations.getDmByInboxId(invite.creatorInboxId)
      const dmPromise = existingDm ? Promise.resolve(existingDm) : core.xmtp.conversations.createDm(invite.creatorInboxId)
      dmPromise.catch(() => undefined)
      if ((await recoverInviteSigner(invite)) === undefined)
        abandon(new ConvosClientError("invalid_invite", "the invite signature is not valid"))
      try {
        const dm = await dmPromise
        core.setConsent(dm, Consent.Allowed)
        const slug = inviteToSlug(invite)
        const profile = options.profile ? { name: options.profile.name, ...(options.profile.isAgent ? { memberKind: "agent" } : {}) } : undefined
        await sendEncoded(dm, new JoinRequestCodec().encode({ inviteSlug: slug, ...(profile ? { profile } : {}) }))
        if (options.sendPlainTextSlug ?? true) await dm.sendText(slug)
      } catch (error) {
        abandon(error)
      }
    }
    try {
      const { conversationId } = await wait
      if (options.profile && options.profileUpdate !== false) await sendProfileUpdate(await core.requireGroup(conversationId), options.profile)
      return { status: "joined", conversationId }
    } catch (error) {
      if (!(error instanceof ConvosClientError) || error.reason !== "timeout") throw error
      return {
        status: "pending_acceptance",
        inviteTag: invite.tag,
        creatorInboxId: invite.creatorInboxId,
        waitForJoin: (waitOptions = {}) => this.waitForPendingJoin(pending, waitOptions),
      }
    }
  }

  private pendingJoinFor(invite: ParsedInvite): PendingJoin {
    let pending = this.pendingJoins.get(invite.tag)
    if (!pending) {
      pending = { tag: invite.tag, creatorInboxId: invite.creatorInboxId, waiters: new Set() }
      this.pendingJoins.set(invite.tag, pending)
    }
    return pending
  }

  private waitForPendingJoin(pending: PendingJoin, options: { timeoutMs?: number; signal?: AbortSignal }) {
    if (pending.joined) return Promise.resolve({ conversationId: pending.joined })
    if (this.core.closed) return Promise.reject(new ConvosClientError("closed", "client is closed"))
    const waiter: Deferred<{ conversationId: string }> = deferred(
      { timeoutMs: options.timeoutMs ?? 60_000, ...(options.signal ? { signal: options.signal } : {}), what: "join by invite" },
      () => pending.waiters.delete(waiter),
    )
    pending.waiters.add(waiter)
    this.scheduleLocalCheck()
    return waiter.promise
  }

  /**
   * Resolves when the welcome for exactly this conversation arrives (at once if we are already in it); welcomes
   * of other groups do not count. Under `expected_only` this is how a group becomes ours.
   */
  async expectAdd(options: ExpectAddOptions): Promise<{ conversationId: string; addedByInboxId: string }> {
    this.core.assertOpen()
    const { conversationId } = options
    const expectation: AddExpectation = {
      ...(options.addedBy === undefined ? {} : { addedBy: options.addedBy }),
      pending: deferred(
        { ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }), ...(options.signal ? { signal: options.signal } : {}), what: `expect add to ${conversationId}` },
        () => {
          const set = this.expectations.get(conversationId)
          set?.delete(expectation)
          if (set?.size === 0) this.expectations.delete(conversationId)
        },
      ),
    }
    // Registered before looking locally, so a welcome landing in between cannot be missed.
    const set = this.expectations.get(conversationId) ?? new Set()
    set.add(expectation)
    this.expectations.set(conversationId, set)
    this.scheduleLocalCheck()
    try {
      const existing = await this.core.xmtp.conversations.getConversationById(conversationId)
      if (existing instanceof Group) await this.bindGroup(existing)
    } catch (error) {
      expectation.pending.promise.catch(() => undefined)
      expectation.pending.fail(error instanceof Error ? error : new Error(String(error)))
      throw error
    }
    return expectation.pending.promise
  }

  /**
   * Safety net for welcomes the streams do not announce. libxmtp processes each welcome on two subscriptions (the
   * conversation stream and the message stream's own); when the message stream wins, the conversation stream never
   * yields that group (seen here in about 1 of 40 adds), and the live stream can lose one altogether. Being added
   * carries no message for the one added, so nothing else would tell us. The local database (no network) is checked
   * for undecided groups every LOCAL_CHECK_MS while an expectation or a join waits, else every UNDECIDED_CHECK_MS;
   * undecided groups are few, as every group seen is decided at once. Every WELCOME_SYNC_EVERY_MS a welcome sync
   * (one read) first fetches what the live stream lost. The check only ever accepts: a group synced in at start may
   * be one the owner is about to expect again (a restart while waiting for an add); refusing stays with the streams.
   */
  scheduleLocalCheck(): void {
    if (this.core.closed || this.localCheckRunning) return // the running check reschedules itself when done
    const someoneWaits = this.expectations.size > 0 || [...this.pendingJoins.values()].some((p) => !p.joined && p.waiters.size > 0)
    clearTimeout(this.localCheckTimer)
    this.localCheckTimer = setTimeout(() => (this.localCheck = this.runLocalCheck()), someoneWaits ? LOCAL_CHECK_MS : UNDECIDED_CHECK_MS)
    this.localCheckTimer.unref()
  }

  private async runLocalCheck(): Promise<void> {
    const core = this.core
    this.localCheckRunning = true
    try {
      if (Date.now() - this.lastWelcomeSyncAt >= WELCOME_SYNC_EVERY_MS) {
        this.lastWelcomeSyncAt = Date.now()
        await this.syncWelcomesQuietly()
      }
      // An expected group is bound whatever its consent: the expectation is what makes it ours.
      for (const conversationId of [...this.expectations.keys()]) {
        const group = await core.xmtp.conversations.getConversationById(conversationId)
        if (group instanceof Group) await this.bindGroup(group)
      }
      for (const group of listGroups(core.xmtp, [Consent.Unknown])) await this.bindGroup(group, { acceptOnly: true })
    } catch (error) {
      if (!core.closed) core.reportError(error, "local welcome check")
    } finally {
      this.localCheckRunning = false
      this.scheduleLocalCheck()
    }
  }

  /** While the network is down this fails every few seconds: only the first failure of a run is reported. */
  private async syncWelcomesQuietly(): Promise<void> {
    try {
      await this.core.xmtp.conversations.sync()
      this.welcomeSyncFailing = false
    } catch (error) {
      if (!this.welcomeSyncFailing) this.core.reportError(error, "welcome sync")
      this.welcomeSyncFailing = true
    }
  }

  /** Closing: no more checks; resolves when the one running (if any) is done. */
  stopLocalCheck(): Promise<void> {
    clearTimeout(this.localCheckTimer)
    return this.localCheck
  }

  /** Closing: every caller still waiting for a welcome gets `closed`. */
  failWaiters(): void {
    const closedError = () => new ConvosClientError("closed", "client closed while waiting")
    for (const set of this.expectations.values()) for (const e of [...set]) e.pending.fail(closedError())
    for (const pending of this.pendingJoins.values()) for (const w of [...pending.waiters]) w.fail(closedError())
  }
}
