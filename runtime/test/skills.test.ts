/**
 * The email and SMS skills describe the plugin's tools and are enabled by OpenClaw's own skill loader only when the
 * instance has that resource: the email skill with AGENTMAIL_INBOX_ID, the SMS skill with TELNYX_PHONE_NUMBER.
 */
import { execFile } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { EMAIL_TOOL_NAMES, SMS_TOOL_NAMES } from "../extensions/convos/src/tools.ts"
import { OPENCLAW_ENTRY } from "../src/gatewayProcess.ts"
import { WORKSPACE_TEMPLATE_DIR } from "../src/prepareState.ts"

const skillText = (skill: string) => readFileSync(join(WORKSPACE_TEMPLATE_DIR, "skills", skill, "SKILL.md"), "utf8")

const requirements = (skill: string) => {
  const frontmatter = skillText(skill).split("---")[1] ?? ""
  return JSON.parse(/^metadata: (.*)$/m.exec(frontmatter)?.[1] ?? "null") as { openclaw: { requires: Record<string, unknown> } }
}

describe("email and sms skills", () => {
  it("require only their resource's variable, and name every tool they describe", () => {
    expect(requirements("email").openclaw.requires).toEqual({ env: ["AGENTMAIL_INBOX_ID"] })
    expect(requirements("sms").openclaw.requires).toEqual({ env: ["TELNYX_PHONE_NUMBER"] })
    for (const name of EMAIL_TOOL_NAMES) expect(skillText("email")).toContain(`\`${name} {`)
    for (const name of SMS_TOOL_NAMES) expect(skillText("sms")).toContain(`\`${name} {`)
  })

  it("OpenClaw's own skill loader enables email only with an inbox and sms only with a number", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "openclaw-skills-"))
    try {
      const listed = await new Promise<string>((resolve, reject) =>
        execFile(
          process.execPath,
          [OPENCLAW_ENTRY, "skills", "list", "--json"],
          {
            env: {
              PATH: process.env.PATH,
              HOME: stateDir,
              OPENCLAW_STATE_DIR: stateDir,
              OPENCLAW_WORKSPACE_DIR: WORKSPACE_TEMPLATE_DIR,
              AGENTMAIL_INBOX_ID: "agent@mail.example",
            },
            timeout: 90_000,
            maxBuffer: 16 * 1024 * 1024,
          },
          (error, stdout) => (error ? reject(error) : resolve(stdout)),
        ),
      )
      const skills = (JSON.parse(listed) as { skills: Array<{ name: string; eligible: boolean; missing: { env: Array<string> } }> }).skills
      expect(skills.find((skill) => skill.name === "email")?.eligible).toBe(true)
      const sms = skills.find((skill) => skill.name === "sms")
      expect(sms?.eligible).toBe(false)
      expect(sms?.missing.env).toEqual(["TELNYX_PHONE_NUMBER"])
    } finally {
      rmSync(stateDir, { recursive: true, force: true })
    }
  }, 120_000)
})
