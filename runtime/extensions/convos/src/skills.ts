/**
 * Which capabilities one slot's agent has, from its template's skill tags (the slot's CONVOS_SKILLS tool variable, a
 * comma list of web, memory, reminders, email, sms), and what its system prompt says about them each turn. Email and
 * SMS also need their resource (tools.ts); web search also needs the slot's own OpenRouter key. A slot without the
 * variable gets none of web, memory and reminders (what an agent could do before they existed).
 */
import type { AnyAgentTool } from "openclaw/plugin-sdk/core"
import { factsForPrompt, memoryTools, readFacts } from "./memory.ts"
import { reminderTools } from "./reminders.ts"
import { DEFAULT_SEARCH_MODEL, isOpenRouterKey, readTool, type SearchAccess, searchTool } from "./webTools.ts"

export const SKILL_TAGS = ["web", "memory", "reminders", "email", "sms"] as const
export type SkillTag = (typeof SKILL_TAGS)[number]

export const parseSkills = (raw: string | undefined): ReadonlySet<SkillTag> =>
  new Set(
    (raw ?? "")
      .split(",")
      .map((s) => s.trim().toLowerCase())
      .filter((s): s is SkillTag => (SKILL_TAGS as ReadonlyArray<string>).includes(s)),
  )

const record = (value: unknown): Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {}

/** The slot's own model endpoint and key, from its provider `slot-<id>` in the gateway config (gatewayConfig.ts). */
export const searchAccessOf = (cfg: unknown, slotId: string, tools: Readonly<Record<string, string>>): SearchAccess | undefined => {
  const provider = record(record(record(record(cfg).models).providers)[`slot-${slotId}`])
  const apiKey = typeof provider.apiKey === "string" ? provider.apiKey : undefined
  const baseUrl = typeof provider.baseUrl === "string" ? provider.baseUrl.replace(/\/+$/, "") : undefined
  if (!isOpenRouterKey(apiKey) || baseUrl === undefined) return undefined
  return { baseUrl, apiKey, model: tools.CONVOS_SEARCH_MODEL?.trim() || DEFAULT_SEARCH_MODEL }
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
  readonly tools: Readonly<Record<string, string>>
  readonly search: SearchAccess | undefined
}

/** The web, memory and reminder tools of one slot (email and SMS come from tools.ts). */
export const capabilityTools = (slot: SlotCapabilities, allowOrigins: ReadonlySet<string>, fetchImpl: typeof fetch = fetch): Array<AnyAgentTool> => {
  const skills = parseSkills(slot.tools.CONVOS_SKILLS)
  return [
    ...(skills.has("web") && slot.search ? [searchTool(slot.search, fetchImpl)] : []),
    ...(skills.has("web") ? [readTool(allowOrigins)] : []),
    ...(skills.has("memory") ? memoryTools(slot.stateDir) : []),
    ...(skills.has("reminders") ? reminderTools(slot.stateDir) : []),
  ]
}

/** What the system prompt says about the slot's capabilities this turn (and what it remembers). */
export const capabilityPrompt = (slot: SlotCapabilities, now: Date = new Date()): string => {
  const skills = parseSkills(slot.tools.CONVOS_SKILLS)
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
  if (skills.has("memory")) {
    lines.push("Use memory_save when the group asks you to remember something; memory_forget when asked to forget.")
    const facts = factsForPrompt(readFacts(slot.stateDir))
    if (facts) lines.push(facts)
  }
  return lines.join("\n")
}
