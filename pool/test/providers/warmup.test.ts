import { assert, layer } from "@effect/vitest"
import { Duration, Effect, Layer, Option, Redacted, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll, beforeAll } from "vitest"
import { TestDatabaseLayer } from "../../../test/db/testDatabase.ts"
import { type FakeAgentMail, startFakeAgentMail } from "../../../test/fakes/agentmail.ts"
import { type FakeOpenRouter, startFakeOpenRouter } from "../../../test/fakes/openrouter.ts"
import { type FakeRailway, startFakeRailway } from "../../../test/fakes/railway.ts"
import { type FakeTelnyx, startFakeTelnyx } from "../../../test/fakes/telnyx.ts"
import { SlotSpec } from "../../../contract/index.ts"
import { ComputeProvider } from "../../src/compute/ComputeProvider.ts"
import { slotModelOf, slotToolsOf } from "../../src/domain/placement.ts"
import * as Railway from "../../src/compute/Railway.ts"
import { AgentMail } from "../../src/resources/AgentMail.ts"
import { OpenRouter } from "../../src/resources/OpenRouter.ts"
import { Telnyx } from "../../src/resources/Telnyx.ts"
import type { ToolProvider } from "../../src/resources/ToolProvider.ts"

/**
 * All four providers together, as a warm-up uses them: Telnyx → OpenRouter → AgentMail → Railway. The pool's own
 * bookkeeping (instance_resources rows, the reconcile loop) is the lead's and tested there; here a pool that dies
 * after any step is emulated by dropping every result, and the cleanup uses only what the providers can find by
 * instance id (`find`, `listHosts`). Whatever step it died after, nothing may be left.
 */

const keys = { railway: "rw-master", openrouter: "or-master", agentmail: "am-master", telnyx: "tx-master" }
let railway: FakeRailway
let openrouter: FakeOpenRouter
let agentmail: FakeAgentMail
let telnyx: FakeTelnyx

beforeAll(async () => {
  ;[railway, openrouter, agentmail, telnyx] = await Promise.all([
    startFakeRailway({ token: keys.railway, workspaceId: "ws" }),
    startFakeOpenRouter({ managementKey: keys.openrouter }),
    startFakeAgentMail({ apiKey: keys.agentmail }),
    startFakeTelnyx({ apiKey: keys.telnyx }),
  ])
  telnyx.campaigns.add("cmp_1")
})
afterAll(() => Promise.all([railway.close(), openrouter.close(), agentmail.close(), telnyx.close()]))

const fast = { requestTimeout: Duration.millis(2_000), retryBase: Duration.millis(5) }
const providers = Layer.unwrap(Effect.sync(() =>
  Layer.mergeAll(
    Railway.layerWith({
      ...fast,
      apiUrl: railway.apiUrl,
      token: Redacted.make(keys.railway),
      workspaceId: "ws",
      image: "runtime:test",
      startCommand: undefined,
      cpu: 1,
      memoryGb: 2,
      projectPrefix: "convos-agent-",
      volumeMountPath: "/data",
      pageSize: 100,
    }),
    OpenRouter.layerWith({
      ...fast,
      apiUrl: openrouter.apiUrl,
      managementKey: Redacted.make(keys.openrouter),
      keyLimit: 20,
      limitReset: "monthly",
      namePrefix: "convos-agent-",
    }),
    AgentMail.layerWith({
      ...fast,
      apiUrl: agentmail.apiUrl,
      apiKey: Redacted.make(keys.agentmail),
      domain: undefined,
      displayName: "Convos Agent",
      namePrefix: "convos-agent-",
    }),
    Telnyx.layerWith({
      ...fast,
      apiUrl: telnyx.apiUrl,
      apiKey: Redacted.make(keys.telnyx),
      messagingProfileId: "mp",
      campaignId: "cmp_1",
      countryCode: "US",
      namePrefix: "convos-agent-",
      orderAttempts: 2,
      pollInterval: Duration.millis(2),
      pendingLimit: Duration.millis(500),
      keepReleasedNumbers: false,
    }),
  )
))

const services = Effect.gen(function*() {
  const tools: ReadonlyArray<ToolProvider> = [(yield* Telnyx).tool, (yield* OpenRouter).tool, (yield* AgentMail).tool]
  return { tools, compute: yield* ComputeProvider }
})

/** Runs the first `steps` warm-up steps (all when undefined) and returns what a surviving pool would record. */
const warmUp = (slotId: string, steps = 4) =>
  Effect.gen(function*() {
    const { tools, compute } = yield* services
    const resourceEnv: Record<string, string> = {}
    const resources: Array<{ tool: ToolProvider; resourceId: string }> = []
    for (const tool of tools.slice(0, Math.min(steps, 3))) {
      const created = yield* tool.create(slotId)
      resources.push({ tool, resourceId: created.resourceId })
      for (const [key, value] of Object.entries(created.env)) resourceEnv[key] = Redacted.value(value)
    }
    // The host's environment is HostEnv only; the slot's keys go in its SlotSpec (PUT /host/slots/:id).
    const env = { HOST_ID: slotId, HOST_TOKEN: `host-token-${slotId}-0123456789`, HOST_CAPACITY: "8", POOL_URL: "https://pool" }
    const handle = steps >= 4 ? yield* compute.create({ hostId: slotId, env }) : undefined
    const spec = {
      token: `slot-token-${slotId}-0123456789`,
      model: slotModelOf(resourceEnv, { kind: "none" }, "some/model"),
      tools: slotToolsOf(resourceEnv),
    }
    return { resources, handle, env, spec }
  })

/** What the next reconcile can do knowing only the instance id. */
const cleanUpByInstanceId = (hostId: string) =>
  Effect.gen(function*() {
    const { tools, compute } = yield* services
    for (const tool of tools) {
      const found = yield* tool.find(hostId)
      if (Option.isSome(found)) yield* tool.release(hostId, found.value)
    }
    for (const host of yield* compute.listHosts) {
      if (host.hostId === hostId) yield* compute.destroy(host)
    }
  })

const assertNothingLeft = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const assigned = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM phone_number_pool WHERE status = 'assigned'`
  assert.strictEqual(assigned[0]!.n, 0, "no number assigned in the pool table")
  assert.strictEqual(telnyx.owned.size, 0, "every number deleted at Telnyx")
  assert.strictEqual(openrouter.keys.size, 0, "no OpenRouter key left")
  assert.strictEqual(agentmail.inboxes.size, 0, "no inbox left")
  assert.strictEqual(railway.projects.size, 0, "no Railway project left")
})

layer(Layer.provideMerge(providers, TestDatabaseLayer()), {
  timeout: "60 seconds",
  excludeTestServices: true,
})("warm-up and destroy across all providers", (it) => {
  it.effect("a full warm-up gives the slot its own resources and one key, the host no key and no master key; destroy removes everything", () =>
    Effect.gen(function*() {
      telnyx.inventory.push("+15550100001")
      const { resources, handle, env, spec } = yield* warmUp("full")
      const variables = [...railway.projects.values()][0]!.services[0]!.variables
      assert.deepStrictEqual(variables, { ...env, STATE_DIR: "/data" }, "the host gets HostEnv, nothing else")
      // The slot gets its own key (exactly one) and its tool variables, decoded as the host will decode them.
      const decoded = Schema.decodeUnknownSync(SlotSpec)(spec)
      assert.deepStrictEqual(decoded.model, {
        kind: "openrouter",
        apiKey: [...openrouter.keys.values()][0]!.key,
        model: "some/model",
      })
      assert.deepStrictEqual(decoded.tools, {
        TELNYX_PHONE_NUMBER: "+15550100001",
        AGENTMAIL_INBOX_ID: [...agentmail.inboxes.keys()][0]!,
        AGENTMAIL_ADDRESS: [...agentmail.inboxes.values()][0]!.email,
      })
      for (const master of Object.values(keys)) {
        assert.isFalse(JSON.stringify([variables, spec]).includes(master), "no master key reaches a host or a slot")
      }

      for (const { tool, resourceId } of resources) yield* tool.release("full", resourceId)
      const { compute } = yield* services
      yield* compute.destroy({ hostId: "full", ref: handle!.ref })
      yield* assertNothingLeft
      assert.deepStrictEqual(telnyx.deleted, ["+15550100001"], "the number is released at Telnyx")
    }))

  it.effect("a pool killed after any warm-up step leaves nothing once the instance id is reconciled", () =>
    Effect.gen(function*() {
      for (let steps = 0; steps <= 4; steps++) {
        telnyx.inventory.push(`+1555020000${steps}`)
        const hostId = `crash${steps}`
        yield* warmUp(hostId, steps) // results dropped: the pool died here
        yield* cleanUpByInstanceId(hostId)
        yield* assertNothingLeft
      }
    }))
})
