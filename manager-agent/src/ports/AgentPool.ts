/**
 * The narrow slice of the pool the manager needs. The real implementation wraps the pool core in process (the same
 * code as the HTTP API); tests use a fake.
 */
import { Context, Effect, Schema } from "effect"
import type { SkillTag } from "../../../contract/index.ts"

export interface SpawnClaim {
  readonly agentName: string
  readonly instructions: string
  readonly mode: "create" | "join" | "add"
  readonly conversationId?: string
  readonly joinUrl?: string
  /** Inbox id of the member who will add the instance (the manager, in `add` mode). */
  readonly addedBy?: string
  /** Inbox id of the person who asked. */
  readonly claimedBy?: string
  /** The chat message id: the same message never claims twice. */
  readonly idempotencyKey?: string
  /** The manager's own inbox id: the agent never answers the manager's messages. */
  readonly managerInboxId?: string
  /** The matched template's skill tags (absent for a free-form agent: the pool gives web, memory, reminders). */
  readonly skills?: ReadonlyArray<SkillTag>
}

export interface ClaimedAgent {
  readonly instanceId: string
  readonly agentName: string
  readonly inboxId: string
  readonly status: "claimed" | "pending_acceptance"
  readonly conversationId: string | null
  readonly inviteUrl: string | null
  readonly joined: boolean
}

/** `message` is for logs; chat replies are chosen from `reason` only. */
export class AgentPoolError extends Schema.TaggedError<AgentPoolError>()("AgentPoolError", {
  reason: Schema.Literals(["no_idle", "invalid", "provision_failed", "unavailable", "not_found"]),
  message: Schema.String,
}) {}

export class AgentPool extends Context.Service<
  AgentPool,
  {
    /**
     * `onWaiting` is called when no warm agent was free and one is being made ready for this claim (a hot-added slot
     * or a new host), with the pool's estimate of how long that takes, so the chat can be told instead of refused.
     */
    claim(
      request: SpawnClaim,
      onWaiting?: (etaSeconds: number) => Effect.Effect<void>,
    ): Effect.Effect<ClaimedAgent, AgentPoolError>
    /** Destroys the instance and releases its resources. */
    kill(instanceId: string): Effect.Effect<void, AgentPoolError>
    /** Changes a claimed agent's display name and/or instructions. */
    reconfigure(
      instanceId: string,
      change: { readonly agentName?: string; readonly instructions?: string },
    ): Effect.Effect<void, AgentPoolError>
  }
>()("manager-agent/AgentPool") {}
