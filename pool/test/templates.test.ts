import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { catalogOrder, seedTemplates, type Template, templateProblem } from "../src/domain/templates.ts"
import { Templates } from "../src/web/Templates.ts"
import { TemplateCatalog } from "../../manager-agent/src/intent/TemplateCatalog.ts"
import { TestDatabaseLayer } from "../../test/db/testDatabase.ts"
import { api, baseUrl, serveApi } from "./support/httpHarness.ts"
import { makeDataDir, poolLayer } from "./support/poolHarness.ts"

const sample: Template = {
  slug: "tea-sommelier",
  name: "Tea Sommelier",
  emoji: "🍵",
  category: "food",
  description: "Picks teas for the moment and says how to brew them.",
  instructions: "You are Tea Sommelier in a group chat. Suggest teas and brewing times.",
  skills: ["web"],
  featured: false,
  published: true,
}

describe("the seed catalog (pool/src/web/catalog.json)", () => {
  it("holds at least 30 valid templates across at least 8 categories, each slug once", () => {
    assert.isAtLeast(seedTemplates.length, 30)
    assert.isAtLeast(new Set(seedTemplates.map((t) => t.category)).size, 8)
    assert.strictEqual(new Set(seedTemplates.map((t) => t.slug)).size, seedTemplates.length)
    for (const t of seedTemplates) {
      assert.isNull(templateProblem(t), t.slug)
      assert.isAtLeast(t.instructions.length, 150, `${t.slug} has instructions a group would want`)
    }
  })

  it("refuses a template whose text could disguise a listing, or whose fields break the rules", () => {
    assert.match(templateProblem({ ...sample, slug: "Tea Time" }) ?? "", /slug/)
    assert.match(templateProblem({ ...sample, name: "Tea\u202eSommelier" }) ?? "", /name/)
    assert.match(templateProblem({ ...sample, description: "line one\nline two" }) ?? "", /description/)
    assert.match(templateProblem({ ...sample, category: "Food" }) ?? "", /category/)
    assert.match(templateProblem({ ...sample, instructions: " " }) ?? "", /instructions/)
    assert.match(templateProblem({ ...sample, skills: ["web", "web"] }) ?? "", /skills/)
    assert.isNull(templateProblem(sample))
  })

  it("orders featured templates first, then by rank", () => {
    const rows = [
      { slug: "b", featured: false, rank: 0 },
      { slug: "c", featured: true, rank: 5 },
      { slug: "a", featured: true, rank: 2 },
    ]
    assert.deepStrictEqual([...rows].sort(catalogOrder).map((r) => r.slug), ["a", "c", "b"])
  })
})

const withApi = <A, E>(body: (call: ReturnType<typeof api>) => Effect.Effect<A, E, Templates>) =>
  Effect.gen(function*() {
    const { dir, cleanup } = makeDataDir()
    yield* Effect.addFinalizer(() => Effect.sync(cleanup))
    const layer = serveApi(poolLayer({ dataDir: dir }).pipe(Layer.provide(TestDatabaseLayer())))
    return yield* Effect.gen(function*() {
      return yield* body(api(yield* baseUrl))
    }).pipe(Effect.provide(layer))
  }).pipe(Effect.scoped)

describe("templates table and admin routes", () => {
  it.live("the table is seeded; the API, the page catalog and the manager read the same rows; admins create, change and unpublish", () =>
    withApi((call) =>
      Effect.gen(function*() {
        const listed = yield* Effect.promise(() => call("GET", "/api/pool/templates", { key: null }))
        assert.strictEqual(listed.status, 200)
        assert.strictEqual(listed.json.length, seedTemplates.length)
        assert.deepStrictEqual(listed.json.filter((t: Template) => t.featured).length, seedTemplates.filter((t) => t.featured).length)
        assert.isTrue(listed.json.slice(0, seedTemplates.filter((t) => t.featured).length).every((t: Template) => t.featured))

        // Admin routes need the key; bad input changes nothing.
        assert.strictEqual((yield* Effect.promise(() => call("POST", "/api/pool/templates", { body: sample, key: null }))).status, 401)
        const bad = yield* Effect.promise(() => call("POST", "/api/pool/templates", { body: { ...sample, slug: "Bad Slug" } }))
        assert.strictEqual(bad.status, 400)
        assert.match(bad.json.error, /slug/)
        const unknownField = yield* Effect.promise(() => call("POST", "/api/pool/templates", { body: { ...sample, colour: "red" } }))
        assert.deepStrictEqual([unknownField.status, unknownField.json.error], [400, "Unknown field: colour"])

        const created = yield* Effect.promise(() => call("POST", "/api/pool/templates", { body: sample }))
        assert.strictEqual(created.status, 200)
        assert.deepStrictEqual(created.json, sample)
        assert.strictEqual((yield* Effect.promise(() => call("POST", "/api/pool/templates", { body: sample }))).status, 409)

        const changed = yield* Effect.promise(() =>
          call("PATCH", "/api/pool/templates/tea-sommelier", { body: { description: "Teas for every mood.", featured: true } }))
        assert.strictEqual(changed.status, 200)
        assert.strictEqual(changed.json.description, "Teas for every mood.")
        assert.strictEqual(changed.json.name, "Tea Sommelier")
        const badPatch = yield* Effect.promise(() => call("PATCH", "/api/pool/templates/tea-sommelier", { body: { name: "" } }))
        assert.strictEqual(badPatch.status, 400)
        assert.strictEqual((yield* Effect.promise(() => call("PATCH", "/api/pool/templates/nope", { body: { name: "X" } }))).status, 404)

        // What this process changed is visible at once everywhere: API, page catalog, manager.
        const templates = yield* Templates
        const manager = yield* Effect.provide(
          Effect.gen(function*() {
            return yield* TemplateCatalog
          }),
          TemplateCatalog.layer.pipe(Layer.provide(Layer.succeed(Templates, templates))),
        )
        const one = yield* Effect.promise(() => call("GET", "/api/pool/templates/tea-sommelier", { key: null }))
        assert.deepStrictEqual([one.status, one.json.featured], [200, true])
        const order = (yield* templates.published).templates
        const at = order.findIndex((t) => t.slug === "tea-sommelier")
        assert.isTrue(at > 0 && order.slice(0, at + 1).every((t) => t.featured), "now listed with the featured ones")
        assert.include((yield* manager.templates).map((t) => t.slug), "tea-sommelier")

        const unpublished = yield* Effect.promise(() => call("POST", "/api/pool/templates/tea-sommelier/unpublish"))
        assert.deepStrictEqual([unpublished.status, unpublished.json.published], [200, false])
        assert.strictEqual((yield* Effect.promise(() => call("GET", "/api/pool/templates/tea-sommelier", { key: null }))).status, 404)
        assert.notInclude((yield* manager.templates).map((t) => t.slug), "tea-sommelier")
        assert.notInclude((yield* templates.published).templates.map((t) => t.slug), "tea-sommelier")
        const all = yield* Effect.promise(() => call("GET", "/api/pool/admin/templates"))
        assert.include(all.json.map((t: Template) => t.slug), "tea-sommelier", "kept for the admin")
      })), 120_000)
})
