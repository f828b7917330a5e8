/**
 * Which capabilities one slot's agent has: the skill tags its claim gave it (web, memory, reminders, email, sms; kept
 * with its binding, bindingStore.ts) that its slot can offer (email and SMS need their resource, tools.ts; web search
 * also needs the slot's own OpenRouter key), and what its system prompt says about them each turn. A slot not yet
 * provisioned has none; a binding that names no skills has the free-form default (web, memory, reminders).
 */
import type { AnyAgentTool } from "openclaw/plugin-sdk/core"
import type { BindingState } from "./binding.ts"
import { fileBindingStore } from "./bindingStore.ts"
import { EMAIL_GUIDE, SMS_GUIDE } from "./guides.ts"
import { factsForPrompt, memoryTools, readFacts } from "./memory.ts"
import { reminderTools } from "./reminders.ts"
import { record } from "./toolParams.ts"
import { agentTools } from "./tools.ts"
import { DEFAULT_SEARCH_MODEL, isOpenRouterKey, readTool, type SearchAccess, searchTool } from "./webTools.ts"

/** The contract's SKILL_TAGS and DEFAULT_SKILLS (the plugin imports the contract's types only; a test keeps them equal). */
export const SKILL_TAGS = ["web", "memory", "reminders", "email", "sms"] as const
export type SkillTag = (typeof SKILL_TAGS)[number]
export const DEFAULT_SKILLS: ReadonlyArray<SkillTag> = ["web", "memory", "reminders"]

/** The skills a binding carries: none before a provision, the default when the provision named none. */
export const boundSkills = (binding: BindingState): ReadonlySet<SkillTag> =>
  "persona" in binding ? new Set(binding.persona.skills ?? DEFAULT_SKILLS) : new Set()

/** The skills bound in a slot's state dir (read per turn: the tool factory may run in another load of the plugin). */
export const boundSkillsIn = (stateDir: string): ReadonlySet<SkillTag> => boundSkills(fileBindingStore(stateDir).load().binding)

/** The resource each of these skills needs among the slot's tool variables. */
const RESOURCE_OF: Partial<Record<SkillTag, string>> = { email: "AGENTMAIL_INBOX_ID", sms: "TELNYX_PHONE_NUMBER" }

/** The agent's skills: those bound ∩ those its slot can offer (email and SMS only with their resource). */
export const grantedSkills = (bound: ReadonlySet<SkillTag>, tools: Readonly<Record<string, string>>): ReadonlySet<SkillTag> =>
  new Set(
    [...bound].filter((skill) => {
      const resource = RESOURCE_OF[skill]
      return resource === undefined || (tools[resource]?.trim() ?? "") !== ""
    }),
  )

/** The slot's tool variables the email and SMS tools may see: a resource whose skill is not granted is left out. */
export const grantedResources = (granted: ReadonlySet<SkillTag>, tools: Readonly<Record<string, string>>): Record<string, string> =>
  Object.fromEntries(
    Object.entries(tools).filter(([name]) => !(name.startsWith("AGENTMAIL_") && !granted.has("email")) && !(name.startsWith("TELNYX_") && !granted.has("sms"))),
  )

/** The slot's own model endpoint and key, from its provider `slot-<id>` in the gateway config (gatewayConfig.ts). */
export const searchAccessOf = (cfg: unknown, slotId: string): SearchAccess | undefined => {
  const provider = record(record(record(record(cfg).models).providers)[`slot-${slotId}`])
  const apiKey = typeof provider.apiKey === "string" ? provider.apiKey : undefined
  const baseUrl = typeof provider.baseUrl === "string" ? provider.baseUrl.replace(/\/+$/, "") : undefined
  if (!isOpenRouterKey(apiKey) || baseUrl === undefined) return undefined
  return { baseUrl, apiKey, model: DEFAULT_SEARCH_MODEL }
}

/** Exact origins web_read may reach though they are not public: only the e2e tests' fake web server sets one. */
export const allowOriginsOf = (env: NodeJS.ProcessEnv = process.env): ReadonlySet<string> =>
  new Set(
    (env.CONVOS_WEB_ALLOW_ORIGINS ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== ""),
  )

export interface SlotCapabilities {
  readonly slotId: string
  readonly stateDir: string
  /** Its granted skills (grantedSkills). */
  readonly skills: ReadonlySet<SkillTag>
  /** Search access when the slot has its own OpenRouter key (search_web needs both it and the web skill). */
  readonly search: SearchAccess | undefined
}

/** The web, memory and reminder tools of one slot (email and SMS come from tools.ts). */
export const capabilityTools = (slot: SlotCapabilities, allowOrigins: ReadonlySet<string>, fetchImpl: typeof fetch = fetch): Array<AnyAgentTool> => {
  const { skills } = slot
  return [
    ...(skills.has("web") && slot.search ? [searchTool(slot.search, fetchImpl)] : []),
    ...(skills.has("web") ? [readTool(allowOrigins)] : []),
    ...(skills.has("memory") ? memoryTools(slot.stateDir) : []),
    ...(skills.has("reminders") ? reminderTools(slot.stateDir) : []),
  ]
}

/** What the system prompt says about the slot's capabilities this turn (and what it remembers). */
export const capabilityPrompt = (slot: SlotCapabilities, now: Date = new Date()): string => {
  const { skills } = slot
  const lines: Array<string> = []
  if (skills.has("web")) {
    lines.push(
      slot.search
        ? "Use search_web for current facts (timetables, prices, opening hours, news) and give the source links you used; use web_read to read a page someone shares."
        : "You cannot search the web (no search is set up for you): when asked to look something up, say so plainly and never invent results. You can read a page someone links with web_read.",
    )
  } else {
    lines.push("You cannot search or read the web: when asked to look something up, say so plainly and never invent results.")
  }
  if (skills.has("reminders")) lines.push(`Use reminder_set when the group asks to be reminded or for a scheduled message. Now is ${now.toISOString()}.`)
  if (skills.has("email")) lines.push(EMAIL_GUIDE)
  if (skills.has("sms")) lines.push(SMS_GUIDE)
  if (skills.has("memory")) {
    lines.push("Use memory_save when the group asks you to remember something; memory_forget when asked to forget.")
    const facts = factsForPrompt(readFacts(slot.stateDir))
    if (facts) lines.push(facts)
  }
  return lines.join("\n")
}

/** Where one turn's slot stands: its account (state dir, tool variables), the turn's config and the supervisor link. */
export interface TurnSlot {
  readonly slotId: string
  readonly stateDir: string
  readonly tools: Readonly<Record<string, string>>
  readonly config: unknown
  readonly toolsUrl: string | undefined
  readonly gatewayToken: string
}

/** Every tool of one turn's agent: its bound skills that its slot can offer, nothing else. */
export const turnTools = (slot: TurnSlot, allowOrigins: ReadonlySet<string>, fetchImpl: typeof fetch = fetch): Array<AnyAgentTool> => {
  const skills = grantedSkills(boundSkillsIn(slot.stateDir), slot.tools)
  return [
    ...agentTools({ slotId: slot.slotId, toolsUrl: slot.toolsUrl, gatewayToken: slot.gatewayToken, tools: grantedResources(skills, slot.tools) }, fetchImpl),
    ...capabilityTools({ slotId: slot.slotId, stateDir: slot.stateDir, skills, search: searchAccessOf(slot.config, slot.slotId) }, allowOrigins, fetchImpl),
  ]
}
