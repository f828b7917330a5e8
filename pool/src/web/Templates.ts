import { Context, Duration, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { createHash } from "node:crypto"
import { InvalidRequest, TemplateExists, TemplateNotFound } from "../domain/errors.ts"
import { catalogOrder, seedTemplates, type Skill, type Template, templateProblem } from "../domain/templates.ts"

/** The published catalog at one moment: what pages render from. `etag` changes whenever any listed field does. */
export interface Catalog {
  readonly templates: ReadonlyArray<Template>
  readonly bySlug: ReadonlyMap<string, Template>
  readonly categories: ReadonlyArray<string>
  readonly etag: string
}

export type TemplatePatch = { readonly [K in Exclude<keyof Template, "slug">]?: Template[K] | undefined }

/** A row as read: JSONB skills (see toTemplate) and the catalog rank. */
type Row = Omit<Template, "skills"> & { readonly skills: ReadonlyArray<Skill> | string; readonly rank: number }

const columns = "slug, name, emoji, category, description, instructions, skills, published, featured, rank"

const toTemplate = (row: Row): Template => ({
  slug: row.slug,
  name: row.name,
  emoji: row.emoji,
  category: row.category,
  description: row.description,
  instructions: row.instructions,
  // PGlite hands JSONB back as text in some paths; PostgreSQL as parsed JSON.
  skills: typeof row.skills === "string" ? JSON.parse(row.skills) : row.skills,
  published: row.published,
  featured: row.featured,
})

export const makeCatalog = (templates: ReadonlyArray<Template>): Catalog => ({
  templates,
  bySlug: new Map(templates.map((t) => [t.slug, t])),
  categories: [...new Set(templates.map((t) => t.category))].sort(),
  etag: `"${createHash("sha256").update(JSON.stringify(templates)).digest("base64url").slice(0, 22)}"`,
})

/**
 * Seeding several pool processes at once is safe (ON CONFLICT DO NOTHING); rows already there are left as the
 * operator changed them.
 */
const seedRows = seedTemplates.map((t, rank) => ({ ...t, rank }))

/**
 * The template catalog in PostgreSQL. Reads come from an in-memory snapshot, reloaded after this process changes a
 * template and otherwise at most every `refreshEvery` (another pool process may have changed one).
 */
export class Templates extends Context.Service<Templates, {
  /** Published templates, featured first. */
  readonly published: Effect.Effect<Catalog>
  /** Every template, unpublished ones too (the admin list). */
  readonly all: Effect.Effect<ReadonlyArray<Template>>
  create(template: Template): Effect.Effect<Template, InvalidRequest | TemplateExists>
  update(slug: string, patch: TemplatePatch): Effect.Effect<Template, InvalidRequest | TemplateNotFound>
}>()("pool/web/Templates") {
  static readonly layerWith = (options: { readonly refreshEvery: Duration.Input }) =>
    Layer.effect(
      Templates,
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* sql`INSERT INTO templates (${sql.literal(columns)})
          SELECT v.slug, v.name, v.emoji, v.category, v.description, v.instructions, v.skills, v.published, v.featured, v.rank
          FROM jsonb_to_recordset(${JSON.stringify(seedRows)}::jsonb) AS v(slug text, name text, emoji text,
            category text, description text, instructions text, skills jsonb, published boolean, featured boolean,
            rank integer)
          ON CONFLICT (slug) DO NOTHING`.pipe(Effect.orDie)

        const load = Effect.map(
          sql<Row>`SELECT ${sql.literal(columns)} FROM templates WHERE published`,
          (rows) => makeCatalog([...rows].sort(catalogOrder).map(toTemplate)),
        ).pipe(Effect.orDie)
        const [published, invalidate] = yield* Effect.cachedInvalidateWithTTL(load, options.refreshEvery)

        const all = Effect.map(
          sql<Row>`SELECT ${sql.literal(columns)} FROM templates`,
          (rows) => [...rows].sort(catalogOrder).map(toTemplate),
        ).pipe(Effect.orDie)

        const checked = (template: Template) => {
          const problem = templateProblem(template)
          return problem ? Effect.fail(new InvalidRequest({ error: problem })) : Effect.succeed(template)
        }

        const create = Effect.fn("Templates.create")(function*(input: Template) {
          const template = yield* checked(input)
          const inserted = yield* sql<Row>`INSERT INTO templates (${sql.literal(columns)}) VALUES (${template.slug},
              ${template.name}, ${template.emoji}, ${template.category}, ${template.description},
              ${template.instructions}, ${JSON.stringify(template.skills)}::jsonb, ${template.published},
              ${template.featured}, (SELECT COALESCE(max(rank), 0) + 1 FROM templates))
            ON CONFLICT (slug) DO NOTHING RETURNING ${sql.literal(columns)}`.pipe(Effect.orDie)
          if (inserted.length === 0) return yield* new TemplateExists({ error: `A template called ${template.slug} exists` })
          yield* invalidate
          return toTemplate(inserted[0]!)
        })

        const update = Effect.fn("Templates.update")(function*(slug: string, patch: TemplatePatch) {
          return yield* sql.withTransaction(Effect.gen(function*() {
            const rows = yield* sql<Row>`SELECT ${sql.literal(columns)} FROM templates WHERE slug = ${slug} FOR UPDATE`
            if (rows.length === 0) return yield* TemplateNotFound.standard()
            const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined))
            const next = yield* checked({ ...toTemplate(rows[0]!), ...defined, slug })
            yield* sql`UPDATE templates SET name = ${next.name}, emoji = ${next.emoji}, category = ${next.category},
              description = ${next.description}, instructions = ${next.instructions},
              skills = ${JSON.stringify(next.skills)}::jsonb, published = ${next.published}, featured = ${next.featured},
              updated_at = now() WHERE slug = ${slug}`
            return next
          })).pipe(
            Effect.catchTag("SqlError", Effect.die),
            Effect.tap(() => invalidate),
          )
        })

        return Templates.of({ published, all, create, update })
      }),
    )

  static readonly layer = Templates.layerWith({ refreshEvery: Duration.seconds(10) })
}
