import { execFile } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createServer, type IncomingMessage, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"

/**
 * The runtime's email and SMS skill scripts against a loopback stand-in for the pool's tool routes: they must call
 * the documented routes with the instance's own token, print the answer, and fail clearly (exit 1, `error: …` on
 * stderr, the token never printed).
 */

const skills = fileURLToPath(new URL("../../../runtime/workspace/skills/", import.meta.url))
const token = "instance-token-0123456789abcdef"

interface Seen {
  method: string
  url: string
  authorization: string | undefined
  instanceId: string | undefined
  body: unknown
}
let seen: Array<Seen> = []
let reply: (request: Seen) => { status: number; body: unknown } = () => ({ status: 200, body: {} })
let server: Server
let poolUrl: string

const readJson = (request: IncomingMessage) =>
  new Promise<unknown>((resolve) => {
    let text = ""
    request.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")))
    request.on("end", () => resolve(text ? JSON.parse(text) : undefined))
  })

beforeAll(async () => {
  server = createServer(async (request, response) => {
    const entry: Seen = {
      method: request.method ?? "",
      url: request.url ?? "",
      authorization: request.headers.authorization,
      instanceId: request.headers["x-instance-id"] as string | undefined,
      body: await readJson(request),
    }
    seen.push(entry)
    const { status, body } = reply(entry)
    response.writeHead(status, { "content-type": "application/json" })
    response.end(JSON.stringify(body))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  poolUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))
beforeEach(() => {
  seen = []
  reply = () => ({ status: 200, body: {} })
})

const run = (script: string, args: ReadonlyArray<string>, env: Record<string, string | undefined> = {}) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      [`${skills}${script}`, ...args],
      { env: { PATH: process.env.PATH, POOL_URL: poolUrl, INSTANCE_TOKEN: token, INSTANCE_ID: "inst-7", ...env }, timeout: 20_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    )
    child.stdin?.end()
  })

describe("email and sms skill scripts", () => {
  it("send-email posts the message to the pool's email route with the instance token and prints the answer", async () => {
    reply = () => ({ status: 200, body: { messageId: "m1", threadId: "t1" } })
    const result = await run("email/scripts/send-email.mjs", ["--to", "a@example.com", "--subject", "Hi", "--text", "Hello"])
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout)).toEqual({ messageId: "m1", threadId: "t1" })
    expect(seen).toEqual([{
      method: "POST",
      url: "/api/tools/email/send",
      authorization: `Bearer ${token}`,
      instanceId: "inst-7",
      body: { to: "a@example.com", subject: "Hi", text: "Hello" },
    }])
  })

  it("check-inbox asks for the newest messages with the given limit", async () => {
    reply = () => ({ status: 200, body: { messages: [{ subject: "hello" }] } })
    const result = await run("email/scripts/check-inbox.mjs", ["--limit", "5"])
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout)).toEqual({ messages: [{ subject: "hello" }] })
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(["GET /api/tools/email/inbox?limit=5"])
  })

  it("read-email fetches one message by its id, encoded into the path", async () => {
    reply = () => ({ status: 200, body: { messageId: "<m1@x>", text: "full text" } })
    const result = await run("email/scripts/read-email.mjs", ["--id", "<m1@x>"])
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout)).toEqual({ messageId: "<m1@x>", text: "full text" })
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(["GET /api/tools/email/messages/%3Cm1%40x%3E"])
  })

  it("send-sms sends to the sms route; a bad number is refused before any call", async () => {
    reply = () => ({ status: 200, body: { messageId: "sms1" } })
    const ok = await run("sms/scripts/send-sms.mjs", ["--to", "+15551234567", "--text", "On my way"])
    expect(ok.code).toBe(0)
    expect(seen[0]?.body).toEqual({ to: "+15551234567", text: "On my way" })
    expect(seen[0]?.url).toBe("/api/tools/sms/send")

    const bad = await run("sms/scripts/send-sms.mjs", ["--to", "555-1234", "--text", "hi"])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/E\.164/)
    expect(seen).toHaveLength(1)
  })

  it("a pool error exits 1 with the status and reason, and never prints the token", async () => {
    reply = () => ({ status: 404, body: { error: "instance inst-7 has no phone number" } })
    const result = await run("sms/scripts/send-sms.mjs", ["--to", "+15551234567", "--text", "hi"])
    expect(result.code).toBe(1)
    expect(result.stderr).toBe("error: 404 instance inst-7 has no phone number\n")
    expect(result.stdout).toBe("")
    expect(result.stderr + result.stdout).not.toContain(token)
  })

  it("without INSTANCE_TOKEN or POOL_URL the script says which is missing and calls nothing", async () => {
    const noToken = await run("email/scripts/check-inbox.mjs", [], { INSTANCE_TOKEN: undefined })
    expect(noToken.code).toBe(1)
    expect(noToken.stderr).toMatch(/INSTANCE_TOKEN is not set/)
    const noPool = await run("email/scripts/check-inbox.mjs", [], { POOL_URL: undefined })
    expect(noPool.stderr).toMatch(/POOL_URL is not set/)
    expect(seen).toHaveLength(0)
  })

  it("each skill is enabled only when its resource is in the environment, and both share one pool client", () => {
    const requiredEnv = (skill: string) => {
      const frontmatter = readFileSync(`${skills}${skill}/SKILL.md`, "utf8").split("---")[1]!
      const metadata = /^metadata: (.*)$/m.exec(frontmatter)![1]!
      return JSON.parse(metadata).openclaw.requires.env as Array<string>
    }
    expect(requiredEnv("email")).toEqual(["AGENTMAIL_INBOX_ID", "POOL_URL", "INSTANCE_TOKEN"])
    expect(requiredEnv("sms")).toEqual(["TELNYX_PHONE_NUMBER", "POOL_URL", "INSTANCE_TOKEN"])
    expect(readFileSync(`${skills}sms/scripts/pool-call.mjs`, "utf8")).toBe(
      readFileSync(`${skills}email/scripts/pool-call.mjs`, "utf8"),
    )
  })

  it("OpenClaw's own skill loader enables email only with an inbox and sms only with a number", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "openclaw-skills-"))
    try {
      const openclaw = fileURLToPath(new URL("../../../node_modules/.bin/openclaw", import.meta.url))
      const listed = await new Promise<string>((resolve, reject) =>
        execFile(
          process.execPath,
          [openclaw, "skills", "list", "--json"],
          {
            env: {
              PATH: process.env.PATH,
              HOME: stateDir,
              OPENCLAW_STATE_DIR: stateDir,
              OPENCLAW_WORKSPACE_DIR: fileURLToPath(new URL("../../../runtime/workspace", import.meta.url)),
              AGENTMAIL_INBOX_ID: "agent@mail.example",
              POOL_URL: poolUrl,
              INSTANCE_TOKEN: token,
            },
            timeout: 90_000,
            maxBuffer: 16 * 1024 * 1024,
          },
          (error, stdout) => (error ? reject(error) : resolve(stdout)),
        )
      )
      const skills = (JSON.parse(listed) as { skills: Array<{ name: string; eligible: boolean; missing: { env: Array<string> } }> })
        .skills
      const email = skills.find((skill) => skill.name === "email")
      const sms = skills.find((skill) => skill.name === "sms")
      expect(email?.eligible).toBe(true)
      expect(sms?.eligible).toBe(false)
      expect(sms?.missing.env).toEqual(["TELNYX_PHONE_NUMBER"])
    } finally {
      rmSync(stateDir, { recursive: true, force: true })
    }
  }, 120_000)
})
