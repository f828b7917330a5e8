/** Railway compute against the fake GraphQL API, its published schema, its config and its pure decisions (over 400 lines: one file per provider, four describes). */
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Exit, Redacted } from "effect"
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest"
import { startFakeRailway, type FakeRailway, validateRailwayDocument } from "../../../test/fakes/railway.ts"
import { ComputeProvider } from "../../src/compute/ComputeProvider.ts"
import * as Railway from "../../src/compute/Railway.ts"
import { documents } from "../../src/compute/railway/graphql.ts"
import { computeStateOf, leakedMasterKeys, servicePatch } from "../../src/compute/railway/plan.ts"

const token = "rw-master-token-123"
const workspaceId = "ws_test"
let railway: FakeRailway

beforeAll(async () => {
  railway = await startFakeRailway({ token, workspaceId })
})
afterAll(() => railway.close())
beforeEach(() => {
  railway.projects.clear()
  railway.reset()
  railway.invalid.length = 0
  railway.deprecatedUsed.clear()
  railway.settings.deploymentStatus = "SUCCESS"
})
// Every document the client sent in a test was valid against Railway's published schema, and used no deprecated field.
afterEach(() => {
  assert.deepStrictEqual(railway.invalid, [])
  assert.deepStrictEqual([...railway.deprecatedUsed], [])
})

const options = (): Railway.RailwayOptions => ({
  apiUrl: railway.apiUrl,
  token: Redacted.make(token),
  workspaceId,
  image: "ghcr.io/convos/runtime@sha256:abc",
  startCommand: "node runtime/src/supervisor.ts",
  cpu: 2,
  memoryGb: 4,
  projectPrefix: "convos-agent-",
  volumeMountPath: "/data",
  requestTimeout: Duration.millis(1_000),
  retryBase: Duration.millis(5),
  pageSize: 100,
})

const withRailway = <A, E>(body: (compute: typeof ComputeProvider.Service) => Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    return yield* body(yield* ComputeProvider)
  }).pipe(Effect.provide(Railway.layerWith(options())))

const env = { HOST_ID: "h1", HOST_TOKEN: "tok-secret-0123456789", HOST_CAPACITY: "8", POOL_URL: "https://pool.example" }

describe("Railway compute provider against the fake GraphQL API", () => {
  it.live("create makes one project with a service, a /data volume and a domain, deployed by exactly one patch", () =>
    withRailway((compute) =>
      Effect.gen(function*() {
        const handle = yield* compute.create({ hostId: "abc123", env })
        assert.strictEqual(railway.projects.size, 1)
        const project = [...railway.projects.values()][0]!
        assert.strictEqual(project.name, "convos-agent-abc123")
        assert.strictEqual(project.services.length, 1)
        const service = project.services[0]!
        assert.deepStrictEqual(service.volumes.map((v) => v.mountPath), ["/data"])
        assert.strictEqual(service.domains.length, 1)
        assert.strictEqual(handle.url, `https://${service.domains[0]}`)
        assert.strictEqual(service.patchCommits, 1)
        assert.strictEqual(railway.count("EnvironmentPatchCommit"), 1)
        assert.strictEqual(service.image, "ghcr.io/convos/runtime@sha256:abc")
        assert.strictEqual(service.startCommand, "node runtime/src/supervisor.ts")
        assert.deepStrictEqual(service.limitOverride, { containers: { cpu: 2, memoryBytes: 4 * 1024 ** 3 } })
        assert.deepStrictEqual(service.variables, { ...env, STATE_DIR: "/data" })
        assert.strictEqual(service.volumeAndDomainBeforeFirstDeploy, true)
        assert.deepStrictEqual(handle.ref, {
          projectId: project.id,
          environmentId: project.environments[0]!.id,
          serviceId: service.id,
          volumeId: service.volumes[0]!.id,
          domain: service.domains[0]!,
        })

        yield* compute.destroy({ hostId: "abc123", ref: handle.ref })
        assert.strictEqual(railway.projects.size, 0)
        // Idempotent: Railway answers "Project not found", which is success.
        yield* compute.destroy({ hostId: "abc123", ref: handle.ref })
        assert.strictEqual(railway.projects.size, 0)
      })
    ))

  it.live("the public domain routes to the instance's PORT", () =>
    withRailway((compute) =>
      Effect.gen(function*() {
        yield* compute.create({ hostId: "ported", env: { ...env, PORT: "8080" } })
        assert.strictEqual([...railway.projects.values()][0]!.services[0]!.domainTargetPort, 8080)
      })
    ))

  it.live("parallel warm-ups share a cap on calls in flight", () =>
    withRailway((compute) =>
      Effect.gen(function*() {
        railway.inject({ match: () => true, delayMs: 15, times: 1_000 })
        const ids = Array.from({ length: 8 }, (_, i) => `par${i}`)
        yield* Effect.forEach(ids, (hostId) => compute.create({ hostId, env }), { concurrency: "unbounded" })
        assert.strictEqual(railway.projects.size, 8)
        assert.isAtMost(railway.maxInFlight(), 4)
        assert.isAtLeast(railway.maxInFlight(), 2)
      })
    ))

  it.live("a 429 with Retry-After on projectCreate is waited out and retried; one project results", () =>
    withRailway((compute) =>
      Effect.gen(function*() {
        railway.inject({ match: "ProjectCreate", status: 429, retryAfter: "0", times: 2 })
        yield* compute.create({ hostId: "rl1", env })
        assert.strictEqual(railway.count("ProjectCreate"), 3)
        assert.strictEqual(railway.projects.size, 1)
      })
    ))

  it.live("a 5xx after the environment patch did its work is not retried (a second commit would deploy again): the create fails and rolls back; a 429 is retried", () =>
    withRailway((compute) =>
      Effect.gen(function*() {
        railway.inject({ match: "EnvironmentPatchCommit", status: 503, after: true })
        const exit = yield* Effect.exit(compute.create({ hostId: "p5xx", env }))
        assert.isTrue(Exit.isFailure(exit))
        assert.strictEqual(railway.count("EnvironmentPatchCommit"), 1)
        assert.strictEqual(railway.projects.size, 0, "rolled back")

        railway.inject({ match: "EnvironmentPatchCommit", status: 429, retryAfter: "0" })
        yield* compute.create({ hostId: "p429", env })
        assert.strictEqual(railway.count("EnvironmentPatchCommit"), 3)
        assert.strictEqual([...railway.projects.values()][0]!.services[0]!.deployments.length, 1)
      })
    ))

  it.live("a new host's deployment is read as deploying through QUEUED and DEPLOYING, then running at SUCCESS", () =>
    withRailway((compute) =>
      Effect.gen(function*() {
        const handle = yield* compute.create({ hostId: "walk", env })
        const host = { hostId: "walk", ref: handle.ref }
        const seen: Array<string | undefined> = []
        for (let look = 0; look < 3; look++) seen.push((yield* compute.status([host])).get("walk"))
        assert.deepStrictEqual(seen, ["deploying", "deploying", "running"])
        railway.settings.deploymentStatus = "CRASHED"
        const crashing = yield* compute.create({ hostId: "crash", env })
        const states: Array<string | undefined> = []
        for (let look = 0; look < 3; look++) states.push((yield* compute.status([{ hostId: "crash", ref: crashing.ref }])).get("crash"))
        assert.deepStrictEqual(states, ["deploying", "deploying", "failed"])
      })
    ))

  it.live("a wrong token is answered as Railway does (HTTP 200, Not Authorized): a clear error, not retried, nothing created", () =>
    Effect.gen(function*() {
      const compute = yield* ComputeProvider
      const error = yield* Effect.flip(compute.create({ hostId: "denied", env }))
      assert.match(error.message, /Not Authorized/)
      assert.strictEqual(railway.count("ProjectCreate"), 1)
      assert.strictEqual(railway.calls[0]!.status, 200)
      assert.strictEqual(railway.projects.size, 0)
    }).pipe(Effect.provide(Railway.layerWith({ ...options(), token: Redacted.make("rw-wrong-token") }))))

  it.live("a delete whose answer is lost, or of a project already gone (Not Authorized), is checked by listing again", () =>
    withRailway((compute) =>
      Effect.gen(function*() {
        const handle = yield* compute.create({ hostId: "lost", env })
        railway.inject({ match: "ProjectDelete", status: 500, after: true })
        railway.inject({ match: "ProjectDelete", status: 500, times: 10 })
        yield* compute.destroy({ hostId: "lost", ref: handle.ref })
        assert.strictEqual(railway.projects.size, 0)
        const listsBefore = railway.count("Projects")
        yield* compute.destroy({ hostId: "lost", ref: handle.ref })
        assert.strictEqual(railway.count("Projects"), listsBefore + 1, "the Not Authorized answer was checked by a listing")
      })
    ))

  it.live("a failure mid-create (volumeCreate 500) rolls back: the project is deleted, nothing is left", () =>
    withRailway((compute) =>
      Effect.gen(function*() {
        railway.inject({ match: "VolumeCreate", status: 500 })
        const exit = yield* Effect.exit(compute.create({ hostId: "mid", env }))
        assert.isTrue(Exit.isFailure(exit))
        assert.strictEqual(railway.count("VolumeCreate"), 1, "a create mutation is not retried after a 5xx")
        assert.strictEqual(railway.count("ProjectDelete"), 1)
        assert.strictEqual(railway.projects.size, 0)
      })
    ))

  it.live("an answer of the wrong shape is a clear error and the project is rolled back", () =>
    withRailway((compute) =>
      Effect.gen(function*() {
        railway.inject({ match: "ServiceCreate", status: 200, body: { data: { serviceCreate: null } } })
        const error = yield* Effect.flip(compute.create({ hostId: "odd", env }))
        assert.match(error.message, /serviceCreate: unexpected answer/)
        assert.strictEqual(railway.projects.size, 0)
      })
    ))

  it.live("projectCreate that succeeded but answered 500 is found by name and deleted", () =>
    withRailway((compute) =>
      Effect.gen(function*() {
        railway.inject({ match: "ProjectCreate", status: 500, after: true })
        const exit = yield* Effect.exit(compute.create({ hostId: "ambig", env }))
        assert.isTrue(Exit.isFailure(exit))
        assert.isTrue(railway.count("Projects") >= 1)
        assert.strictEqual(railway.projects.size, 0)
      })
    ))

  it.live("a timeout on the domain step fails the create and leaves nothing behind", () =>
    withRailway((compute) =>
      Effect.gen(function*() {
        railway.inject({ match: "ServiceDomainCreate", delayMs: 1_600, after: true })
        const exit = yield* Effect.exit(compute.create({ hostId: "slow", env }))
        assert.isTrue(Exit.isFailure(exit))
        if (Exit.isFailure(exit)) assert.match(String(exit.cause), /no answer within/)
        assert.strictEqual(railway.projects.size, 0)
      })
    ))

  it.live("an instance environment holding a master key is refused before anything is created", () =>
    withRailway((compute) =>
      Effect.gen(function*() {
        const leaky = yield* Effect.exit(compute.create({ hostId: "leak", env: { ...env, TELNYX_API_KEY: "x" } }))
        assert.isTrue(Exit.isFailure(leaky))
        const smuggled = yield* Effect.exit(compute.create({ hostId: "leak2", env: { ...env, NOTES: `t=${token}` } }))
        assert.isTrue(Exit.isFailure(smuggled))
        assert.strictEqual(railway.count("ProjectCreate"), 0)
      })
    ))

  it.live("projectDelete is retried through 5xx and 429; a delete that keeps failing gives up with an error", () =>
    withRailway((compute) =>
      Effect.gen(function*() {
        const handle = yield* compute.create({ hostId: "del", env })
        railway.inject({ match: "ProjectDelete", status: 502 })
        railway.inject({ match: "ProjectDelete", status: 429, retryAfter: "0" })
        yield* compute.destroy({ hostId: "del", ref: handle.ref })
        assert.strictEqual(railway.count("ProjectDelete"), 3)
        assert.strictEqual(railway.projects.size, 0)

        const stuck = yield* compute.create({ hostId: "stuck", env })
        railway.inject({ match: "ProjectDelete", status: 500, times: 100 })
        const exit = yield* Effect.exit(compute.destroy({ hostId: "stuck", ref: stuck.ref }))
        assert.isTrue(Exit.isFailure(exit))
        assert.strictEqual(railway.count("ProjectDelete"), 3 + 7, "bounded: one try and six retries")
        assert.strictEqual(railway.projects.size, 1)
      })
    ))

  it.live("destroy without a recorded project id finds the project by its name", () =>
    withRailway((compute) =>
      Effect.gen(function*() {
        yield* compute.create({ hostId: "noref", env })
        yield* compute.destroy({ hostId: "noref", ref: {} })
        assert.strictEqual(railway.projects.size, 0)
      })
    ))

  it.live("status of 250 instances costs 3 paged calls and maps deployments to states", () =>
    withRailway((compute) =>
      Effect.gen(function*() {
        const ids = Array.from({ length: 250 }, (_, i) => `inst${i}`)
        const projectIds = railway.seed(ids.map((id) => `convos-agent-${id}`))
        railway.seed(["someone-elses-project"])
        railway.setDeploymentStatus(projectIds[1]!, "CRASHED")
        railway.setDeploymentStatus(projectIds[2]!, "BUILDING")
        railway.setDeploymentStatus(projectIds[3]!, "SLEEPING")
        railway.projects.delete(projectIds[4]!)
        const before = railway.count("Projects")
        const instances = ids.map((hostId, i) => ({ hostId, ref: i === 5 ? {} : { projectId: projectIds[i]! } }))
        const states = yield* compute.status([...instances, { hostId: "never-made", ref: { projectId: "prj_x" } }])
        assert.strictEqual(railway.count("Projects") - before, 3)
        assert.strictEqual(states.size, 251)
        assert.strictEqual(states.get("inst0"), "running")
        assert.strictEqual(states.get("inst1"), "failed")
        assert.strictEqual(states.get("inst2"), "deploying")
        assert.strictEqual(states.get("inst3"), "running")
        assert.strictEqual(states.get("inst4"), "gone")
        assert.strictEqual(states.get("inst5"), "running", "found by name without a recorded project id")
        assert.strictEqual(states.get("never-made"), "gone")

        const listed = yield* compute.listHosts
        assert.strictEqual(listed.length, 249)
        assert.isFalse(listed.some((host) => host.hostId.includes("someone")))
      })
    ))

  it.live("status of 1,000 instances costs one call per page of 100, not one per instance", () =>
    withRailway((compute) =>
      Effect.gen(function*() {
        const ids = Array.from({ length: 1000 }, (_, i) => `k${i}`)
        const projectIds = railway.seed(ids.map((id) => `convos-agent-${id}`))
        const states = yield* compute.status(ids.map((hostId, i) => ({ hostId, ref: { projectId: projectIds[i]! } })))
        assert.strictEqual(railway.count("Projects"), 10)
        assert.strictEqual([...states.values()].filter((state) => state === "running").length, 1000)
      })
    ))

  it.live("status retries a rate-limited page instead of failing the reconcile", () =>
    withRailway((compute) =>
      Effect.gen(function*() {
        const [projectId] = railway.seed(["convos-agent-one"])
        railway.inject({ match: "Projects", status: 429, retryAfter: "0" })
        const states = yield* compute.status([{ hostId: "one", ref: { projectId: projectId! } }])
        assert.strictEqual(states.get("one"), "running")
      })
    ))
})

describe("Railway's published schema (railwayapp/cli v5.43.1) against our documents", () => {
  const variables: Record<keyof typeof documents, Record<string, unknown>> = {
    projectCreate: { input: { name: "convos-agent-h1", workspaceId: "ws", defaultEnvironmentName: "production" } },
    serviceCreate: { input: { projectId: "p", environmentId: "e", name: "agent" } },
    volumeCreate: { input: { projectId: "p", serviceId: "s", environmentId: "e", mountPath: "/data" } },
    serviceDomainCreate: { input: { serviceId: "s", environmentId: "e", targetPort: 8080 } },
    environmentPatchCommit: { environmentId: "e", patch: servicePatch("s", { image: "i", startCommand: undefined, cpu: 1, memoryGb: 1 }, { A: "b" }), commitMessage: "m" },
    projectDelete: { id: "p" },
    projects: { workspaceId: "ws", first: 100, after: null },
  }

  it("every document the client sends validates with its variables and selects no deprecated field", () => {
    for (const [name, document] of Object.entries(documents)) {
      assert.deepStrictEqual(validateRailwayDocument(document, variables[name as keyof typeof documents]), { errors: [], deprecated: [] }, name)
    }
  })

  it("the validator catches what Railway would refuse: syntax, unknown fields, the wrong operation, bad variables; deprecated fields noted", () => {
    const syntax = validateRailwayDocument(documents.serviceCreate.replace("{ id }", "{ id "), variables.serviceCreate)
    assert.strictEqual(syntax.errors.length, 1)
    assert.match(syntax.errors[0]!, /^Syntax Error: Expected Name, found <EOF>/)
    const wrongField = validateRailwayDocument(documents.serviceCreate.replace("{ id }", "{ id nmae }"), variables.serviceCreate)
    assert.deepStrictEqual(wrongField.errors, ['Cannot query field "nmae" on type "Service". Did you mean "name"?'])
    const wrongName = validateRailwayDocument(documents.serviceCreate, variables.serviceCreate, "VolumeCreate")
    assert.deepStrictEqual(wrongName.errors, ['No operation named "VolumeCreate" in the document, or no single operation.'])
    const wrongInput = validateRailwayDocument(documents.volumeCreate, { input: { projectId: "p", serviceId: "s", mountPath: 5, size: 1 } })
    assert.deepStrictEqual(wrongInput.errors, [
      'Variable "$input" has invalid value at .mountPath: String cannot represent a non string value: 5',
      'Variable "$input" has invalid value: Expected value of type "VolumeCreateInput" not to include unknown field "size", found: { projectId: "p", serviceId: "s", mountPath: 5, size: 1 }.',
    ])
    const missing = validateRailwayDocument(documents.projectDelete, {})
    assert.deepStrictEqual(missing.errors, ['Variable "$id" has invalid value: Expected a value of non-null type "String!" to be provided.'])
    const old = validateRailwayDocument(
      `query Old($id: String!) { project(id: $id) { services { edges { node { deployments(first: 1) { edges { node { status } } } } } } } }`,
      { id: "p" },
    )
    assert.deepStrictEqual(old, {
      errors: [],
      deprecated: ["The field Service.deployments is deprecated. Use environment.deployments for properly scoped access control"],
    })
  })

  /** Posts a raw GraphQL request to the fake, as a client that got it wrong would. */
  const post = async (request: { operationName: string; query: string; variables: Record<string, unknown> }) => {
    const response = await fetch(railway.apiUrl, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(request),
    })
    const body = await response.json() as { errors: Array<{ message: string; extensions: { code: string } }> }
    return { status: response.status, body }
  }

  it.live("the fake answers a deliberately wrong document with HTTP 400 GRAPHQL_VALIDATION_FAILED and changes nothing", () =>
    Effect.promise(async () => {
      const { status, body } = await post({
        operationName: "ProjectCreate",
        query: documents.projectCreate.replace("environments", "enviroments"),
        variables: variables.projectCreate,
      })
      assert.strictEqual(status, 400)
      assert.deepStrictEqual(body.errors.map((e) => e.extensions.code), ["GRAPHQL_VALIDATION_FAILED"])
      assert.match(body.errors[0]!.message, /Cannot query field "enviroments" on type "Project"/)
      assert.strictEqual(railway.projects.size, 0)
      assert.strictEqual(railway.invalid.length, 1)
      railway.invalid.length = 0
    }))

  it.live("the fake answers a valid document with variables of the wrong type with HTTP 400 GRAPHQL_VALIDATION_FAILED and changes nothing", () =>
    Effect.promise(async () => {
      const { status, body } = await post({
        operationName: "ProjectCreate",
        query: documents.projectCreate,
        variables: { input: { ...variables.projectCreate.input as object, name: 42 } },
      })
      assert.strictEqual(status, 400)
      assert.deepStrictEqual(body.errors.map((e) => e.extensions.code), ["GRAPHQL_VALIDATION_FAILED"])
      assert.match(body.errors[0]!.message, /^Variable "\$input" has invalid value at \.name: String cannot represent a non string value: 42/)
      assert.strictEqual(railway.projects.size, 0)
      assert.strictEqual(railway.count("ProjectCreate"), 1)
      assert.deepStrictEqual(railway.invalid.map((entry) => entry.operationName), ["ProjectCreate"])
      railway.invalid.length = 0
    }))
})

describe("Railway configuration", () => {
  const workspaceOf = (env: Record<string, string>) =>
    Effect.runSync(Effect.map(
      Railway.config.parse(ConfigProvider.fromUnknown({ RAILWAY_API_TOKEN: "t", RAILWAY_RUNTIME_IMAGE: "i", ...env })),
      (config) => config.workspaceId,
    ))

  it("the workspace is RAILWAY_WORKSPACE_ID, else the older RAILWAY_TEAM_ID", () => {
    assert.strictEqual(workspaceOf({ RAILWAY_WORKSPACE_ID: "ws_new", RAILWAY_TEAM_ID: "ws_old" }), "ws_new")
    assert.strictEqual(workspaceOf({ RAILWAY_TEAM_ID: "ws_old" }), "ws_old")
  })
})

describe("Railway decisions (pure)", () => {
  it("maps latest deployment statuses to compute states", () => {
    const project = (status: string | null) => ({ id: "p", name: "n", services: [{ id: "s", latestDeployment: status }] })
    assert.strictEqual(computeStateOf(undefined), "gone")
    assert.strictEqual(computeStateOf({ id: "p", name: "n", services: [] }), "failed")
    assert.strictEqual(computeStateOf(project(null)), "deploying")
    assert.strictEqual(computeStateOf(project("QUEUED")), "deploying")
    assert.strictEqual(computeStateOf(project("SUCCESS")), "running")
    assert.strictEqual(computeStateOf(project("FAILED")), "failed")
    assert.strictEqual(computeStateOf(project("REMOVED")), "failed")
  })

  it("puts image, start command, limits and variables in one service patch", () => {
    const patch = servicePatch("svc1", { image: "img", startCommand: undefined, cpu: 1, memoryGb: 0.5 }, { A: "1" })
    assert.deepStrictEqual(patch, {
      services: {
        svc1: {
          source: { image: "img" },
          deploy: { limitOverride: { containers: { cpu: 1, memoryBytes: 512 * 1024 ** 2 } } },
          variables: { A: { value: "1" } },
        },
      },
    })
  })

  it("names master keys found in an environment, by name or by value", () => {
    assert.deepStrictEqual(leakedMasterKeys({ POOL_URL: "u", HOST_TOKEN: "t" }, ["master"]), [])
    assert.deepStrictEqual(leakedMasterKeys({ OPENROUTER_API_KEY: "own" }, []), ["OPENROUTER_API_KEY"], "model keys go per slot")
    assert.deepStrictEqual(leakedMasterKeys({ AGENTMAIL_API_KEY: "k" }, []), ["AGENTMAIL_API_KEY"])
    assert.deepStrictEqual(leakedMasterKeys({ X: "a-master-b" }, ["master"]), ["X"])
  })
})
