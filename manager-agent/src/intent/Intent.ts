/**
 * The one value the manager acts on: what a chat message asks for. Both the model path and the rule-based
 * path produce it; the bot validates it again (zod) before doing anything.
 */
import { z } from "zod"
import type { SkillTag } from "../../../contract/index.ts"

/** Longest agent display name we accept (Convos profile names are short labels). */
export const MAX_AGENT_NAME = 40
/** Longest persona we pass to an instance as its system prompt. */
export const MAX_INSTRUCTIONS = 2_000

const AgentName = z.string().trim().min(1).max(MAX_AGENT_NAME)
const AgentRef = z.string().trim().min(1).max(120)
const Instructions = z.string().trim().min(1).max(MAX_INSTRUCTIONS)

export const SpawnIntent = z.object({
  kind: z.literal("spawn"),
  name: AgentName,
  role: z.string().trim().min(1).max(200),
  instructions: Instructions,
  template: z.string().trim().min(1).max(60).optional(),
})
export const ListIntent = z.object({ kind: z.literal("list") })
export const RemoveIntent = z.object({ kind: z.literal("remove"), agent: AgentRef })
export const RenameIntent = z.object({ kind: z.literal("rename"), agent: AgentRef, newName: AgentName })
export const InstructIntent = z.object({ kind: z.literal("instruct"), agent: AgentRef, instructions: Instructions })
export const JoinIntent = z.object({ kind: z.literal("join"), inviteUrl: z.string().trim().url() })
export const TemplatesIntent = z.object({ kind: z.literal("templates") })
export const HelpIntent = z.object({ kind: z.literal("help") })
/** The model could not tell what was meant and asks one short question back (never produced by the rules). */
export const ClarifyIntent = z.object({ kind: z.literal("clarify"), question: z.string().trim().min(1).max(300) })
export const NoneIntent = z.object({ kind: z.literal("none") })

export const Intent = z.discriminatedUnion("kind", [
  SpawnIntent,
  ListIntent,
  RemoveIntent,
  RenameIntent,
  InstructIntent,
  JoinIntent,
  TemplatesIntent,
  HelpIntent,
  ClarifyIntent,
  NoneIntent,
])
export type Intent = z.infer<typeof Intent>
export type IntentKind = Intent["kind"]
export type SpawnIntent = z.infer<typeof SpawnIntent>

/** Where a message was written and how it relates to the manager: decides whether it is addressed to us. */
export interface MessageContext {
  /** `dm` covers 1:1 conversations (a DM, or a group holding only the sender and the manager). */
  readonly conversation: "dm" | "group"
  /** The manager's display name, used to spot mentions ("@Manager", "manager, …"). */
  readonly managerName: string
  /** The message replies to one of the manager's messages. */
  readonly repliesToManager?: boolean
  /** Names of the agents spawned in this conversation, so "kick Remy" can be recognised without a mention. */
  readonly knownAgents?: ReadonlyArray<string>
}

/** A catalog entry the parsers may map a request onto ("a chef" → the `chef` template). */
export interface TemplateInfo {
  readonly slug: string
  readonly name: string
  readonly emoji: string
  readonly description: string
  readonly instructions: string
  /** The catalog's category ("travel", "food"…), used to keep the "templates" reply short. */
  readonly category?: string | undefined
  /** Its skill tags: which tools an agent spawned from it gets (absent: the pool's free-form default). */
  readonly skills?: ReadonlyArray<SkillTag> | undefined
}
