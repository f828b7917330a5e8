/**
 * The ready-made agents the manager can spawn by name: the pool's published catalog (the `templates` table, the same
 * rows the web page and the API show), behind a service so tests can vary it.
 */
import { Context, Effect, Layer } from "effect"
import { templates as seedTemplates } from "../../../pool/src/domain/templates.ts"
import { Templates } from "../../../pool/src/web/Templates.ts"
import type { TemplateInfo } from "./Intent.ts"

export class TemplateCatalog extends Context.Service<
  TemplateCatalog,
  { readonly templates: Effect.Effect<ReadonlyArray<TemplateInfo>> }
>()("manager-agent/TemplateCatalog") {
  /** The published templates from the pool's table (cached by `Templates`, so a reply costs no query). */
  static readonly layer = Layer.effect(
    TemplateCatalog,
    Effect.gen(function*() {
      const catalog = yield* Templates
      return TemplateCatalog.of({ templates: Effect.map(catalog.published, (c) => c.templates) })
    }),
  )
  static readonly layerOf = (templates: ReadonlyArray<TemplateInfo>) =>
    Layer.succeed(TemplateCatalog, TemplateCatalog.of({ templates: Effect.succeed(templates) }))
  /** The seed data file, for a manager without the pool's database (the intent CLI, parser tests). */
  static readonly layerSeed = TemplateCatalog.layerOf(seedTemplates)
}
