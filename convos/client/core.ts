/**
 * What every room of the client shares: the SDK client, our identity and options, the subscribers, the consent
 * cache (which groups are ours) and the ids already delivered. The rooms (joins, join requests, message streams,
 * sends) each hold this one object; none holds another's state.
 */
import type { ConvosMessageEvent } from "../events.ts"
import { RecentIds } from "../events.ts"
import type { ConvosIdentity } from "../identity.ts"
import { Consent, Group, type XmtpClient, type XmtpConversation, type XmtpGroup } from "./sdk.ts"
import { ConvosClientError, type ConversationEvent, type ConvosClientOptions, type JoinRequestEvent } from "./types.ts"

export const sameId = (a: string, b: string) => a.toLowerCase() === b.toLowerCase()

type Handlers<E> = Set<(event: E) => void | Promise<void>>

export class ClientCore {
  readonly inboxId: string
  readonly messageHandlers: Handlers<ConvosMessageEvent> = new Set()
  readonly conversationHandlers: Handlers<ConversationEvent> = new Set()
  readonly joinRequestHandlers: Handlers<JoinRequestEvent> = new Set()
  /** Message ids already delivered (or taken as join requests), shared by the streams, sweeps and the DM read. */
  readonly seenMessages = new RecentIds()
  private readonly consent = new Map<string, number>()
  closed = false

  constructor(
    readonly xmtp: XmtpClient,
    readonly identity: ConvosIdentity,
    readonly options: ConvosClientOptions,
  ) {
    this.inboxId = xmtp.inboxId
  }

  isSelf(inboxId: string): boolean {
    return sameId(inboxId, this.inboxId)
  }

  assertOpen(): void {
    if (this.closed) throw new ConvosClientError("closed", "client is closed")
  }

  async requireConversation(conversationId: string): Promise<XmtpConversation> {
    this.assertOpen()
    const conversation = await this.xmtp.conversations.getConversationById(conversationId)
    if (!conversation) throw new ConvosClientError("conversation_not_found", `no conversation ${conversationId}`)
    return conversation
  }

  async requireGroup(conversationId: string): Promise<XmtpGroup> {
    const conversation = await this.requireConversation(conversationId)
    if (!(conversation instanceof Group)) throw new ConvosClientError("not_a_group", `${conversationId} is a DM`)
    return conversation
  }

  reportError(error: unknown, context: string): void {
    // Work cut short by close() is expected, not a failure worth reporting.
    if (this.closed && error instanceof ConvosClientError && error.reason === "closed") return
    if (this.options.onError) this.options.onError(error, context)
    else console.error(`[convos] ${context}:`, error instanceof Error ? error.message : String(error))
  }

  emit<E>(handlers: Handlers<E>, event: E, context: string): void {
    for (const handler of handlers) {
      // Handlers run detached so a slow consumer (a model call) never stalls the streams; failures are reported.
      try {
        void Promise.resolve(handler(event)).catch((error: unknown) => this.reportError(error, context))
      } catch (error) {
        this.reportError(error, context)
      }
    }
  }

  emitConversation(event: ConversationEvent): void {
    this.emit(this.conversationHandlers, event, "onConversation handler")
  }

  consentOf(conversation: XmtpConversation): number {
    let state = this.consent.get(conversation.id)
    if (state === undefined) {
      state = conversation.consentState() as number
      this.consent.set(conversation.id, state)
    }
    return state
  }

  setConsent(conversation: XmtpConversation, state: (typeof Consent)[keyof typeof Consent]): void {
    this.consent.set(conversation.id, state)
    conversation.updateConsentState(state)
  }

  /** Whether the cache already says ours (a group bound by another path while we were creating it). */
  isAllowed(conversationId: string): boolean {
    return this.consent.get(conversationId) === Consent.Allowed
  }
}

/** Each open client's core, for test support (`convos/testing/`) only: the client's surface does not expose it. */
const cores = new WeakMap<object, ClientCore>()
export const registerCore = (client: object, core: ClientCore) => void cores.set(client, core)
export const coreOf = (client: object): ClientCore => {
  const core = cores.get(client)
  if (!core) throw new Error("not an open ConvosClient")
  return core
}
