/**
 * What one agent remembers for its group ("remember that Bob is vegetarian"): a small list of facts in a file of its
 * own slot's state dir, so it survives gateway and host restarts and no other slot can see it. Saved, listed and
 * forgotten by the agent's memory tools; every turn's system prompt carries the list (skills.ts), so the agent knows
 * it without being asked.
 *
 * OpenClaw's memory-core plugin is not used: it keeps memory per agent workspace in markdown the model edits with file
 * tools (which our agents must not have), and its search needs an embedding provider.
 */
import { randomBytes } from "node:crypto"
import { join } from "node:path"
import type { AnyAgentTool } from "openclaw/plugin-sdk/core"
import { readJsonArray, writeJsonAtomic } from "./jsonFile.ts"
import { record, requiredText, textResult } from "./toolParams.ts"

export const MEMORY_TOOL_NAMES = ["memory_save", "memory_list", "memory_forget"] as const

export const MAX_FACTS = 100
export const MAX_FACT_LENGTH = 500

export interface Fact {
  readonly id: string
  readonly text: string
  readonly savedAt: string
}

const isFact = (value: unknown): value is Fact =>
  typeof value === "object" && value !== null && typeof (value as Fact).id === "string" && typeof (value as Fact).text === "string" && typeof (value as Fact).savedAt === "string"

export const memoryPath = (stateDir: string) => join(stateDir, "memory.json")

export const readFacts = (stateDir: string): Array<Fact> => readJsonArray(memoryPath(stateDir), isFact)

/** The facts as the system prompt shows them (empty when there are none). */
export const factsForPrompt = (facts: ReadonlyArray<Fact>): string =>
  facts.length === 0 ? "" : ["What this group asked you to remember (memory_forget removes one):", ...facts.map((f) => `- [${f.id}] ${f.text}`)].join("\n")

const normalise = (text: string) => text.toLowerCase().replace(/\s+/g, " ").trim()

/** Adds a fact (a repeat of one already kept is not added twice). */
export const saveFact = (stateDir: string, raw: string, now: Date = new Date()): { readonly fact: Fact; readonly added: boolean } => {
  const text = raw.replace(/\s+/g, " ").trim()
  if (text === "") throw new Error("fact is required")
  if (text.length > MAX_FACT_LENGTH) throw new Error(`fact is longer than ${MAX_FACT_LENGTH} characters: keep it to one short sentence`)
  const facts = readFacts(stateDir)
  const same = facts.find((f) => normalise(f.text) === normalise(text))
  if (same) return { fact: same, added: false }
  if (facts.length >= MAX_FACTS) throw new Error(`memory is full (${MAX_FACTS} facts): ask which ones to forget first`)
  const fact: Fact = { id: `m${randomBytes(3).toString("hex")}`, text, savedAt: now.toISOString() }
  writeJsonAtomic(memoryPath(stateDir), [...facts, fact])
  return { fact, added: true }
}

/** Removes the facts with this id, or, failing that, those containing this text. Returns what it removed. */
export const forgetFacts = (stateDir: string, what: string): Array<Fact> => {
  const key = normalise(what)
  if (key === "") throw new Error("what is required: the fact's id or some of its words")
  const facts = readFacts(stateDir)
  const byId = facts.filter((f) => f.id === what.trim())
  const removed = byId.length > 0 ? byId : facts.filter((f) => normalise(f.text).includes(key))
  if (removed.length > 0) writeJsonAtomic(memoryPath(stateDir), facts.filter((f) => !removed.includes(f)))
  return removed
}

// A blank fact or key passes through: saveFact and forgetFacts refuse it with their own messages.
const stringParam = (raw: unknown, name: string): string => requiredText(record(raw), name, { allowBlank: true })

/** The memory tools of one slot, over its own state dir. */
export const memoryTools = (stateDir: string): Array<AnyAgentTool> => [
  {
    catalogMode: "direct-only",
    name: "memory_save",
    label: "Remember a fact",
    description:
      "Remember one fact for this group across restarts, when someone asks you to remember something or states a lasting preference (\"Bob is vegetarian\"). One short sentence.",
    parameters: { type: "object", additionalProperties: false, required: ["fact"], properties: { fact: { type: "string", description: "The fact, as one short sentence" } } },
    execute: async (_id, raw) => {
      const { fact, added } = saveFact(stateDir, stringParam(raw, "fact"))
      return textResult(added ? `Remembered [${fact.id}]: ${fact.text}` : `Already remembered [${fact.id}]: ${fact.text}`, { id: fact.id, added })
    },
  },
  {
    catalogMode: "direct-only",
    name: "memory_list",
    label: "What you remember",
    description: "List every fact you remember for this group, with its id.",
    parameters: { type: "object", additionalProperties: false, properties: {} },
    execute: async () => {
      const facts = readFacts(stateDir)
      return textResult(facts.length === 0 ? "You remember nothing for this group yet." : factsForPrompt(facts), { count: facts.length })
    },
  },
  {
    catalogMode: "direct-only",
    name: "memory_forget",
    label: "Forget a fact",
    description: "Forget a fact when someone asks: by its id from memory_list, or by some of its words.",
    parameters: { type: "object", additionalProperties: false, required: ["what"], properties: { what: { type: "string", description: "The fact's id, or words it contains" } } },
    execute: async (_id, raw) => {
      const removed = forgetFacts(stateDir, stringParam(raw, "what"))
      return textResult(removed.length === 0 ? "Nothing matched: nothing was forgotten." : `Forgot: ${removed.map((f) => f.text).join("; ")}`, { removed: removed.length })
    },
  },
]
