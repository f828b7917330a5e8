/** A slot's workspace: the shipped context files (AGENTS.md, SOUL.md, IDENTITY.md) are refreshed, the agent's own stay. */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { hostPaths, prepareSlot, slotPaths, WORKSPACE_TEMPLATE_DIR } from "../src/layout.ts"

describe("a slot's workspace", () => {
  it("gets the shipped context files again at every prepare, and keeps what the agent wrote", () => {
    const root = mkdtempSync(join(tmpdir(), "slot-workspace-"))
    try {
      const paths = slotPaths(hostPaths(root), "slotaaaa")
      prepareSlot(paths)
      for (const file of ["AGENTS.md", "SOUL.md", "IDENTITY.md"]) expect(existsSync(join(paths.workspaceDir, file))).toBe(true)
      writeFileSync(join(paths.workspaceDir, "AGENTS.md"), "tampered")
      writeFileSync(join(paths.workspaceDir, "notes.md"), "the agent's own")
      prepareSlot(paths)
      expect(readFileSync(join(paths.workspaceDir, "AGENTS.md"), "utf8")).toBe(readFileSync(join(WORKSPACE_TEMPLATE_DIR, "AGENTS.md"), "utf8"))
      expect(readFileSync(join(paths.workspaceDir, "notes.md"), "utf8")).toBe("the agent's own")
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })
})
