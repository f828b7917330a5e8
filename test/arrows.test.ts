/**
 * The arrows between folders (docs/architecture.md), checked on the imports themselves: a product file may import
 * only the folders its arrow allows, and never test code. Tests, benchmarks and test support may import anything.
 */
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative, resolve, sep } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")

/** What each folder's product code may import, besides itself and packages. */
const arrows: Record<string, ReadonlyArray<string>> = {
  contract: [],
  convos: [],
  pool: ["contract"],
  runtime: ["contract", "convos"],
  "manager-agent": ["pool", "convos", "contract"],
  app: ["pool", "manager-agent", "convos", "contract"],
}

const testSide = (path: string) =>
  path.endsWith(".test.ts") || path.split(sep).some((part) => ["test", "bench", "testing"].includes(part))

const sourceFiles = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return entry.name === "node_modules" || entry.name.startsWith(".") ? [] : sourceFiles(path)
    return /\.(ts|mts|js|mjs)$/.test(entry.name) && !entry.name.endsWith(".d.ts") ? [path] : []
  })

/** Relative specifiers of static imports, re-exports and dynamic imports. */
const importsOf = (text: string): Array<string> =>
  [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)["'](\.{1,2}\/[^"']+)["']/gm)].map((m) => m[1]!)

/** The arrows a product file breaks: each import into a folder it may not use, or into test code. */
const wrongArrows = (file: string, text: string): Array<string> => {
  const from = relative(root, file).split(sep)[0]!
  const allowed = arrows[from]
  if (allowed === undefined || testSide(relative(root, file))) return []
  return importsOf(text).flatMap((specifier) => {
    const target = relative(root, resolve(dirname(file), specifier))
    const to = target.split(sep)[0]!
    if (testSide(target)) return [`${relative(root, file)} → ${target} (test code)`]
    return to === from || allowed.includes(to) ? [] : [`${relative(root, file)} → ${target} (${from} may not import ${to})`]
  })
}

describe("the arrows between folders", () => {
  it("no product file imports a folder its arrow does not allow, or test code", () => {
    const files = Object.keys(arrows).flatMap((folder) => sourceFiles(join(root, folder)))
    expect(files.length).toBeGreaterThan(100)
    expect(files.flatMap((file) => wrongArrows(file, readFileSync(file, "utf8")))).toEqual([])
  })

  it("catches an arrow the wrong way: the pool importing the manager, convos importing the pool, product code importing a test", () => {
    const wrong = (file: string, line: string) => wrongArrows(join(root, file), line)
    expect(wrong("pool/src/Pool.ts", `import { x } from "../../manager-agent/src/ManagerAgent.ts"`)).toHaveLength(1)
    expect(wrong("pool/src/Pool.ts", `const m = await import("../../runtime/src/main.ts")`)).toHaveLength(1)
    expect(wrong("convos/client.ts", `export { Pool } from "../pool/src/Pool.ts"`)).toHaveLength(1)
    expect(wrong("manager-agent/src/x.ts", `import "../../test/fakes/fakeModel.ts"`)).toHaveLength(1)
    expect(wrong("manager-agent/src/x.ts", `import { Pool } from "../../pool/src/Pool.ts"`)).toEqual([])
    expect(wrong("pool/test/x.test.ts", `import { x } from "../../manager-agent/src/ManagerAgent.ts"`)).toEqual([])
  })
})
