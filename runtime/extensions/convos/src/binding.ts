/**
 * Binding rules: one instance binds to exactly one conversation, and only to the one it was sent to.
 * Pure state transitions; the instance persists the state (bindingStore.ts) and performs the effects.
 */
import type { ConfigureRequest, InboundNotice, ProvisionMode, ProvisionRequest, SkillTag } from "../../../../contract/index.ts"

/** The provision and configure bodies are the contract's (decoded with it: `contractDecoders`). */
export type { ConfigureRequest, ProvisionMode, ProvisionRequest }

export interface Persona {
  readonly agentName: string
  readonly instructions: string
  /** The provision's skill tags (absent in a binding saved before they existed, and when the provision named none). */
  readonly skills?: ReadonlyArray<SkillTag> | undefined
}

/** The persona a provision asks for. */
export const requestedPersona = (request: ProvisionRequest): Persona => ({
  agentName: request.agentName,
  instructions: request.instructions,
  ...(request.skills === undefined ? {} : { skills: request.skills }),
})

export type BindingState =
  | { readonly phase: "idle" }
  /** A create or join call is running right now. */
  | { readonly phase: "provisioning"; readonly mode: "create" | "join"; readonly persona: Persona }
  | { readonly phase: "joining"; readonly inviteUrl: string; readonly persona: Persona }
  | { readonly phase: "expecting_add"; readonly conversationId: string; readonly addedBy: string; readonly persona: Persona }
  | {
      readonly phase: "bound"
      readonly conversationId: string
      readonly persona: Persona
      readonly mode: ProvisionMode
      /** The welcome message was written; never greet twice (e.g. after a restart). */
      readonly greeted: boolean
    }
  | { readonly phase: "ended"; readonly conversationId: string; readonly reason: "removed" | "exploded" }

export const idle: BindingState = { phase: "idle" }

export type Validation<A> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly error: string }

/** Decodes the slot routes' bodies with the contract (loaded by path: the gateway runs this plugin from a copy). */
export interface ContractDecoders {
  readonly provision: (body: unknown) => Validation<ProvisionRequest>
  readonly configure: (body: unknown) => Validation<ConfigureRequest>
  readonly inbound: (body: unknown) => Validation<InboundNotice>
}

type ContractModule = Pick<
  typeof import("../../../../contract/index.ts"),
  "decoderFor" | "ProvisionRequest" | "ConfigureRequest" | "InboundNotice"
>

export const contractDecoders = (contract: ContractModule): ContractDecoders => {
  const object = (decode: (body: unknown) => Validation<unknown>) => (body: unknown) =>
    typeof body !== "object" || body === null || Array.isArray(body) ? { ok: false as const, error: "body must be a JSON object" } : decode(body)
  return {
    provision: object(contract.decoderFor(contract.ProvisionRequest)) as ContractDecoders["provision"],
    configure: object(contract.decoderFor(contract.ConfigureRequest)) as ContractDecoders["configure"],
    inbound: object(contract.decoderFor(contract.InboundNotice)) as ContractDecoders["inbound"],
  }
}

export type ConfigureDecision =
  | {
      readonly accept: true
      readonly next: BindingState
      /** The persona after the change (what the next turn uses). */
      readonly persona: Persona
      /** The conversation whose profile name must change first (bound, and the name changed), else null. */
      readonly renameIn: string | null
    }
  | { readonly accept: false; readonly status: 409; readonly error: string }

/**
 * Applies a new name and/or instructions to whatever persona the binding carries. The next turn (and a greeting not
 * yet written) uses them; there is nothing to configure before a provision, nor after the conversation ended.
 */
export const decideConfigure = (state: BindingState, change: ConfigureRequest): ConfigureDecision => {
  switch (state.phase) {
    case "idle":
      return { accept: false, status: 409, error: "instance is not provisioned; nothing to configure" }
    case "ended":
      return { accept: false, status: 409, error: `instance has left conversation ${state.conversationId}` }
    case "provisioning":
      return { accept: false, status: 409, error: "instance is being provisioned; try again in a moment" }
    case "joining":
    case "expecting_add":
    case "bound": {
      const persona: Persona = {
        ...state.persona,
        agentName: change.agentName ?? state.persona.agentName,
        instructions: change.instructions ?? state.persona.instructions,
      }
      const renamed = persona.agentName !== state.persona.agentName
      return { accept: true, next: { ...state, persona }, persona, renameIn: state.phase === "bound" && renamed ? state.conversationId : null }
    }
  }
}

export type ProvisionDecision =
  | { readonly accept: true; readonly next: BindingState }
  | { readonly accept: false; readonly status: 409; readonly error: string }

/** Whether a provision may start from this state, and the state while it runs. */
export const decideProvision = (state: BindingState, request: ProvisionRequest): ProvisionDecision => {
  if (state.phase !== "idle") {
    const what = state.phase === "bound" ? `bound to conversation ${state.conversationId}` : `already ${state.phase.replace("_", " ")}`
    return { accept: false, status: 409, error: `instance is ${what}; one instance serves one conversation` }
  }
  const persona = requestedPersona(request)
  switch (request.mode) {
    case "create":
    case "join":
      return { accept: true, next: { phase: "provisioning", mode: request.mode, persona } }
    case "add":
      return {
        accept: true,
        next: { phase: "expecting_add", conversationId: request.conversationId, addedBy: request.addedBy, persona },
      }
  }
}

export type WelcomeDecision =
  | { readonly bind: true; readonly next: BindingState }
  | { readonly bind: false; readonly reason: string }

/**
 * A welcome arrived (we were added to `conversationId`). Bind only when it is exactly the expected conversation
 * from the expected adder (add), or the conversation a pending join was waiting for (join). Anything else is ignored.
 */
export const decideWelcome = (state: BindingState, welcome: { readonly conversationId: string; readonly addedBy: string | null }): WelcomeDecision => {
  const conversationId = welcome.conversationId.toLowerCase()
  if (state.phase === "expecting_add") {
    if (conversationId !== state.conversationId) return { bind: false, reason: "welcome for a conversation we were not sent to" }
    // The adder is checked when the transport knows it; an unknown adder for the right conversation is accepted
    // because the conversation id was given to us by the pool together with the adder.
    if (welcome.addedBy !== null && welcome.addedBy.toLowerCase() !== state.addedBy)
      return { bind: false, reason: "added by someone other than the expected adder" }
    return { bind: true, next: { phase: "bound", conversationId, persona: state.persona, mode: "add", greeted: false } }
  }
  return { bind: false, reason: `not expecting an add (state ${state.phase})` }
}

/** A create or join finished with a conversation id. */
export const bindAfterProvision = (state: BindingState, conversationId: string, mode: "create" | "join"): BindingState => {
  if (state.phase !== "provisioning" && state.phase !== "joining") return state
  return { phase: "bound", conversationId: conversationId.toLowerCase(), persona: state.persona, mode, greeted: false }
}

/** `POST /pool/reset`: drop a half-done provision. Clean only if nothing is bound and nothing is in flight. */
export const decideReset = (state: BindingState): { readonly next: BindingState; readonly clean: boolean } => {
  switch (state.phase) {
    case "idle":
      return { next: idle, clean: true }
    case "expecting_add":
    case "joining":
      // Nothing bound yet: forget the expectation. A join request already sent cannot be recalled, so a join that
      // is accepted later would still land us in that conversation: not clean.
      return { next: idle, clean: state.phase === "expecting_add" }
    case "provisioning":
      return { next: state, clean: false }
    case "bound":
    case "ended":
      return { next: state, clean: false }
  }
}

/**
 * Whether an account's start pays the first-turn cost with a scratch warm-up turn: only an unclaimed slot, so that a
 * claim finds it fast. A claimed slot starting again (a gateway crash or restart) has real turns waiting, which pay
 * that cost themselves; eight warm-ups at once would hold back its stream and its answers.
 */
export const warmsUpOnStart = (settings: { readonly modelConfigured: boolean; readonly warmUp: boolean }, state: BindingState): boolean =>
  settings.modelConfigured && settings.warmUp && state.phase === "idle"

export const boundConversationId = (state: BindingState): string | null =>
  state.phase === "bound" || state.phase === "ended" ? state.conversationId : null
