/**
 * The email and SMS skills describe the plugin's tools; a slot's workspace holds the email skill only when the slot
 * has an inbox (AGENTMAIL_INBOX_ID) and the SMS skill only when it has a number (TELNYX_PHONE_NUMBER).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { EMAIL_TOOL_NAMES, SMS_TOOL_NAMES } from "../extensions/convos/src/tools.ts"
import { hostPaths, prepareSlot, slotPaths, WORKSPACE_TEMPLATE_DIR } from "../src/layout.ts"

const skillText = (skill: string) => readFileSync(join(WORKSPACE_TEMPLATE_DIR, "skills", skill, "SKILL.md"), "utf8")

describe("email and sms skills", () => {
  it("name every tool they describe", () => {
    for (const name of EMAIL_TOOL_NAMES) expect(skillText("email")).toContain(`\`${name} {`)
    for (const name of SMS_TOOL_NAMES) expect(skillText("sms")).toContain(`\`${name} {`)
  })

  it("are in a slot's workspace only when the slot has the resource, and go when it no longer has it", () => {
    const root = mkdtempSync(join(tmpdir(), "slot-skills-"))
    try {
      const paths = slotPaths(hostPaths(root), "slotaaaa")
      const skills = () => ["email", "sms", "convos-group-chat"].filter((skill) => existsSync(join(paths.workspaceDir, "skills", skill, "SKILL.md")))
      prepareSlot(paths, { AGENTMAIL_INBOX_ID: "agent@mail.example" })
      expect(skills()).toEqual(["email", "convos-group-chat"])
      expect(existsSync(join(paths.workspaceDir, "SOUL.md"))).toBe(true)
      prepareSlot(paths, { TELNYX_PHONE_NUMBER: "+15551234567" })
      expect(skills()).toEqual(["sms", "convos-group-chat"])
      prepareSlot(paths, {})
      expect(skills()).toEqual(["convos-group-chat"])
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })
})
