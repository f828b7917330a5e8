/**
 * Ready-made agents: the web catalog, the HTTP API and the manager agent all read them from the `templates` table
 * (pool/src/web/Templates.ts), which is seeded from `pool/src/web/catalog.json`. This module is the pure part: the
 * shape, the rules a template must follow, and the seed list.
 */
import { Schema } from "effect"
import { readFileSync } from "node:fs"
import { agentNameProblem, instructionsProblem, SKILL_TAGS } from "../../../contract/index.ts"

/** The tools an agent made from a template uses; shown as tags on the page. */
export const Skills = SKILL_TAGS
export type Skill = (typeof Skills)[number]

export interface Template {
  readonly slug: string
  readonly name: string
  readonly emoji: string
  readonly category: string
  readonly description: string
  readonly instructions: string
  readonly skills: ReadonlyArray<Skill>
  readonly featured: boolean
  readonly published: boolean
}

export const limits = { slug: 60, category: 30, description: 200, emoji: 16 } as const

const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/
const CATEGORY = /^[a-z][a-z0-9-]*$/
// One line of visible text: no control, bidi-override or zero-width characters (they could disguise a listing).
const UNSAFE_LINE = /[\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069\u200b\u200e\u200f]/

/** Why a template (new or changed) cannot be stored, or null. Pure: the admin API and the seed both use it. */
export const templateProblem = (t: Template): string | null => {
  if (!SLUG.test(t.slug) || t.slug.length > limits.slug) {
    return `slug must be 1 to ${limits.slug} lower-case letters, digits and single dashes`
  }
  const nameProblem = agentNameProblem(t.name)
  if (nameProblem) return nameProblem.replace("agentName", "name")
  if (t.emoji.trim() === "" || t.emoji.length > limits.emoji || UNSAFE_LINE.test(t.emoji.replace(/\u200d/g, ""))) {
    return `emoji must be 1 to ${limits.emoji} characters`
  }
  if (!CATEGORY.test(t.category) || t.category.length > limits.category) {
    return `category must be 1 to ${limits.category} lower-case letters, digits and dashes`
  }
  if (t.description.trim() === "" || t.description.length > limits.description || UNSAFE_LINE.test(t.description)) {
    return `description must be one line of 1 to ${limits.description} characters`
  }
  const instructions = instructionsProblem(t.instructions)
  if (instructions) return instructions
  if (new Set(t.skills).size !== t.skills.length) return "skills must not repeat"
  return null
}

export const TemplateFields = {
  slug: Schema.String,
  name: Schema.String,
  emoji: Schema.String,
  category: Schema.String,
  description: Schema.String,
  instructions: Schema.String,
  skills: Schema.Array(Schema.Literals(Skills)),
  featured: Schema.Boolean,
  published: Schema.Boolean,
}

/** An entry of the seed file: `published` defaults to true. */
const SeedEntry = Schema.Struct({
  ...TemplateFields,
  published: Schema.optional(Schema.Boolean),
})

export const catalogFile = new URL("../web/catalog.json", import.meta.url)

/**
 * The seed catalog from the data file, decoded and checked once at import: a broken entry stops start-up with its
 * slug and problem instead of reaching a page.
 */
export const seedTemplates: ReadonlyArray<Template> = (() => {
  const entries = Schema.decodeUnknownSync(Schema.Array(SeedEntry))(JSON.parse(readFileSync(catalogFile, "utf8")), {
    onExcessProperty: "error",
  })
  const seen = new Set<string>()
  return entries.map((entry) => {
    const template: Template = { ...entry, published: entry.published ?? true }
    const problem = templateProblem(template)
    if (problem) throw new Error(`catalog.json: template ${entry.slug}: ${problem}`)
    if (seen.has(entry.slug)) throw new Error(`catalog.json: template ${entry.slug} appears twice`)
    seen.add(entry.slug)
    return template
  })
})()

/** The seed list, for callers without a database (the intent CLI, parser tests). */
export const templates = seedTemplates

/** Catalog order: featured first, then the order given (the data file's for seeded templates). */
export const catalogOrder = <T extends { readonly featured: boolean; readonly rank: number; readonly slug: string }>(
  a: T,
  b: T,
) => Number(b.featured) - Number(a.featured) || a.rank - b.rank || a.slug.localeCompare(b.slug)
