import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startFakeModel, type FakeModel } from "../../test/fakes/fakeModel.ts"

const run = promisify(execFile)
const cli = fileURLToPath(new URL("../src/cli/intent.ts", import.meta.url))
const intentOf = async (text: string, env: Record<string, string> = {}, flags: ReadonlyArray<string> = []) => {
  const { stdout } = await run(process.execPath, ["--import", "tsx", cli, ...flags, text], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    timeout: 30_000,
  })
  const lines = stdout.trim().split("\n")
  expect(lines).toHaveLength(1)
  return JSON.parse(lines[0]!) as Record<string, unknown>
}

let model: FakeModel
beforeAll(async () => {
  model = await startFakeModel(() => ({
    toolCalls: [{ name: "spawn_agent", arguments: { name: "Tokyo Guide", role: "trip planner", persona: "You plan Tokyo trips.", template: null } }],
  }))
})
afterAll(() => model.stop())

describe("npm run manager:intent", () => {
  it("prints the rule-based intent as one JSON line when no model is configured", async () => {
    expect(await intentOf("spawn a trip planner here")).toMatchObject({ kind: "spawn", name: "Trip Planner", template: "trip-planner" })
  })

  it("reads the text in the conversation the flags describe (a DM, the agents here)", async () => {
    expect(await intentOf("Remy's job is now to plan our lunches")).toEqual({ kind: "none" })
    expect(await intentOf("Remy's job is now to plan our lunches", {}, ["--agents=Remy,Chef"])).toEqual({
      kind: "instruct",
      agent: "Remy",
      instructions: "Plan our lunches.",
    })
    expect(await intentOf("I need a lawyer", {}, ["--dm"])).toMatchObject({ kind: "spawn", name: "Lawyer" })
  })

  it("uses the model when MANAGER_MODEL is set", async () => {
    const intent = await intentOf("spawn a trip planner for Tokyo", {
      MANAGER_MODEL: "fake-model",
      MANAGER_MODEL_BASE_URL: model.baseUrl,
      MANAGER_MODEL_API_KEY: "sk-test",
    })
    expect(intent).toEqual({ kind: "spawn", name: "Tokyo Guide", role: "trip planner", instructions: "You plan Tokyo trips." })
    expect(model.requests.length).toBeGreaterThan(0)
  })
})
