/** The ready-made agents the manager can spawn by name: the pool's catalog, behind a service so tests can vary it. */
import { Context, Layer } from "effect"
import { templates as poolTemplates } from "../../../pool/src/domain/templates.ts"
import type { TemplateInfo } from "./Intent.ts"

export class TemplateCatalog extends Context.Service<
  TemplateCatalog,
  { readonly templates: ReadonlyArray<TemplateInfo> }
>()("manager-agent/TemplateCatalog") {
  static readonly layer = Layer.succeed(TemplateCatalog, TemplateCatalog.of({ templates: poolTemplates }))
  static readonly layerOf = (templates: ReadonlyArray<TemplateInfo>) => Layer.succeed(TemplateCatalog, TemplateCatalog.of({ templates }))
}
