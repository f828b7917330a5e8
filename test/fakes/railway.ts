/**
 * A loopback fake of Railway's public GraphQL API (`POST /graphql/v2`), holding projects in memory, strict where
 * Railway is:
 * - every document and its variables are validated by graphql-js against Railway's published schema
 *   (`railwaySchema.json`, pinned to railwayapp/cli v5.43.1, source in its `_source` field): the specification's
 *   validation rules, then variable coercion. An invalid one is HTTP 400 with
 *   `errors[].extensions.code = "GRAPHQL_VALIDATION_FAILED"` and changes nothing. Deprecated fields, arguments and
 *   enum values a document uses are collected in `deprecatedUsed`.
 * - a wrong token, or an id the token cannot see (a deleted or unknown project), answers as Railway does: HTTP 200
 *   with `errors[].message = "Not Authorized"`, never "not found".
 * - a deployment starts `QUEUED` and moves on at each status read: `DEPLOYING`, then `settings.deploymentStatus`
 *   (default `SUCCESS`).
 * It answers, by operation name: ProjectCreate, ServiceCreate, VolumeCreate, ServiceDomainCreate,
 * EnvironmentPatchCommit, ProjectDelete and Projects (paged, each environment's service instances with their latest
 * deployment). Faults come from `inject` (see providerHttp.ts), keyed by operation name.
 *
 *   const railway = await startFakeRailway({ token: "rw-token", workspaceId: "ws_1" })
 *   railway.projects          // what exists now
 *   railway.count("ProjectCreate")
 */
import {
  buildClientSchema,
  type DocumentNode,
  getOperationAST,
  getVariableValues,
  type IntrospectionQuery,
  NoDeprecatedCustomRule,
  parse,
  validate,
} from "graphql"
import { readFileSync } from "node:fs"
import { type FakeHttpServer, type FakeReply, fakeId, startFakeHttp } from "./providerHttp.ts"

/**
 * Built once. `assumeValid` because graphql-js refuses the published schema over one rule of its own schema checks
 * that Railway's server does not keep (`Team.id` is deprecated, the `Node.id` it implements is not); documents are
 * still validated in full.
 */
const railwaySchema = buildClientSchema(
  JSON.parse(readFileSync(new URL("./railwaySchema.json", import.meta.url), "utf8")) as IntrospectionQuery,
  { assumeValid: true },
)

export interface ValidationResult {
  /** What Railway would refuse: syntax, the specification's validation rules, the operation, variable coercion. */
  readonly errors: ReadonlyArray<string>
  /** Deprecated fields, arguments and enum values used: servers accept them, but a client should not depend on them. */
  readonly deprecated: ReadonlyArray<string>
}

/** Checks a document and its variables as the fake does (tests use it to check documents directly). */
export const validateRailwayDocument = (
  query: string,
  variables: Readonly<Record<string, unknown>>,
  operationName?: string,
): ValidationResult => {
  let document: DocumentNode
  try {
    document = parse(query)
  } catch (error) {
    return { errors: [error instanceof Error ? error.message : String(error)], deprecated: [] }
  }
  const deprecated = validate(railwaySchema, document, [NoDeprecatedCustomRule]).map((error) => error.message)
  const invalid = validate(railwaySchema, document)
  if (invalid.length > 0) return { errors: invalid.map((error) => error.message), deprecated }
  const operation = getOperationAST(document, operationName)
  if (operation === null || operation === undefined) {
    return { errors: [`No operation named ${JSON.stringify(operationName)} in the document, or no single operation.`], deprecated }
  }
  const coerced = getVariableValues(railwaySchema, operation.variableDefinitions ?? [], variables)
  return { errors: (coerced.errors ?? []).map((error) => error.message), deprecated }
}

export interface FakeRailwayService {
  readonly id: string
  readonly name: string
  readonly volumes: Array<{ id: string; mountPath: string }>
  readonly domains: Array<string>
  /** The port the public domain routes to, when one was given. */
  domainTargetPort: number | undefined
  image: string | undefined
  startCommand: string | undefined
  limitOverride: unknown
  variables: Record<string, string>
  /** Newest first. `finalStatus`: where a deployment still moving on ends. */
  readonly deployments: Array<{ id: string; status: string; finalStatus?: string }>
  /** How many environment patches touched this service. */
  patchCommits: number
  /** Whether the volume and the domain existed when the first deployment started. */
  volumeAndDomainBeforeFirstDeploy: boolean | undefined
}

export interface FakeRailwayProject {
  readonly id: string
  readonly name: string
  readonly workspaceId: string
  readonly environments: ReadonlyArray<{ id: string; name: string }>
  readonly services: Array<FakeRailwayService>
}

export interface FakeRailway extends FakeHttpServer {
  /** GraphQL endpoint, for RAILWAY_API_URL. */
  readonly apiUrl: string
  readonly projects: Map<string, FakeRailwayProject>
  /** Mutable: `settings.deploymentStatus` is where a new deployment ends, after QUEUED and DEPLOYING (default `SUCCESS`). */
  readonly settings: { deploymentStatus: string }
  /** Deprecated fields, arguments and enum values documents used, as graphql-js's `NoDeprecatedCustomRule` words them. */
  readonly deprecatedUsed: Set<string>
  /** Documents refused by validation, with the errors. */
  readonly invalid: Array<{ operationName: string; errors: ReadonlyArray<string> }>
  /** Sets the latest deployment status of a project's first service. */
  setDeploymentStatus(projectId: string, status: string): void
  /** Adds projects directly (benchmarks and status tests), returning their ids. */
  seed(names: ReadonlyArray<string>, status?: string): Array<string>
}

const gqlError = (message: string): FakeReply => ({ status: 200, body: { data: null, errors: [{ message }] } })
/** Railway answers ids the token cannot reach, and bad tokens, with this (HTTP 200). */
const notAuthorized: FakeReply = {
  status: 200,
  body: { data: null, errors: [{ message: "Not Authorized", extensions: { code: "INTERNAL_SERVER_ERROR" } }] },
}
const ok = (data: unknown): FakeReply => ({ status: 200, body: { data } })

type Variables = Record<string, any>

export const startFakeRailway = async (
  options: { readonly token: string; readonly workspaceId: string },
): Promise<FakeRailway> => {
  const projects = new Map<string, FakeRailwayProject>()
  const state = { deploymentStatus: "SUCCESS" }
  const deprecatedUsed = new Set<string>()
  const invalid: Array<{ operationName: string; errors: ReadonlyArray<string> }> = []

  /** A status read moves the deployment it shows one step on, as time would. */
  const advance = (deployment: { status: string; finalStatus?: string }) => {
    if (deployment.finalStatus === undefined) return
    if (deployment.status === "QUEUED") deployment.status = "DEPLOYING"
    else {
      deployment.status = deployment.finalStatus
      delete deployment.finalStatus
    }
  }

  const findService = (serviceId: string) => {
    for (const project of projects.values()) {
      const service = project.services.find((s) => s.id === serviceId)
      if (service !== undefined) return { project, service }
    }
    return undefined
  }

  const newProject = (name: string, workspaceId: string): FakeRailwayProject => {
    const project: FakeRailwayProject = {
      id: fakeId("prj"),
      name,
      workspaceId,
      environments: [{ id: fakeId("env"), name: "production" }],
      services: [],
    }
    projects.set(project.id, project)
    return project
  }

  const operations: Record<string, (variables: Variables) => FakeReply> = {
    ProjectCreate: ({ input }) => {
      if (typeof input?.name !== "string" || input.workspaceId !== options.workspaceId) {
        return gqlError("Problem processing request: invalid project input")
      }
      const project = newProject(input.name, input.workspaceId)
      return ok({
        projectCreate: {
          id: project.id,
          name: project.name,
          environments: { edges: project.environments.map((node) => ({ node })) },
        },
      })
    },
    ServiceCreate: ({ input }) => {
      const project = projects.get(input?.projectId)
      if (project === undefined) return notAuthorized
      const service: FakeRailwayService = {
        id: fakeId("svc"),
        name: input.name ?? "service",
        volumes: [],
        domains: [],
        domainTargetPort: undefined,
        image: input.source?.image,
        startCommand: undefined,
        limitOverride: undefined,
        variables: {},
        deployments: [],
        patchCommits: 0,
        volumeAndDomainBeforeFirstDeploy: undefined,
      }
      project.services.push(service)
      return ok({ serviceCreate: { id: service.id } })
    },
    VolumeCreate: ({ input }) => {
      const found = findService(input?.serviceId)
      if (found === undefined || found.project.id !== input.projectId) return notAuthorized
      const volume = { id: fakeId("vol"), mountPath: String(input.mountPath) }
      found.service.volumes.push(volume)
      return ok({ volumeCreate: { id: volume.id } })
    },
    ServiceDomainCreate: ({ input }) => {
      const found = findService(input?.serviceId)
      if (found === undefined) return notAuthorized
      const domain = `${found.project.name}-${found.service.id}.up.railway.app`.toLowerCase()
      found.service.domains.push(domain)
      if (typeof input.targetPort === "number") found.service.domainTargetPort = input.targetPort
      return ok({ serviceDomainCreate: { id: fakeId("dom"), domain } })
    },
    EnvironmentPatchCommit: ({ environmentId, patch }) => {
      for (const [serviceId, config] of Object.entries<any>(patch?.services ?? {})) {
        const found = findService(serviceId)
        if (found === undefined || !found.project.environments.some((env) => env.id === environmentId)) {
          return notAuthorized
        }
        const service = found.service
        service.patchCommits += 1
        if (config.deploy?.startCommand !== undefined) service.startCommand = config.deploy.startCommand
        if (config.deploy?.limitOverride !== undefined) service.limitOverride = config.deploy.limitOverride
        for (const [key, entry] of Object.entries<any>(config.variables ?? {})) service.variables[key] = entry.value
        if (config.source?.image !== undefined) {
          service.image = config.source.image
          if (service.volumeAndDomainBeforeFirstDeploy === undefined) {
            service.volumeAndDomainBeforeFirstDeploy = service.volumes.length > 0 && service.domains.length > 0
          }
          service.deployments.unshift({ id: fakeId("dep"), status: "QUEUED", finalStatus: state.deploymentStatus })
        }
      }
      return ok({ environmentPatchCommit: fakeId("commit") })
    },
    ProjectDelete: ({ id }) => {
      if (!projects.delete(id)) return notAuthorized
      return ok({ projectDelete: true })
    },
    Projects: ({ workspaceId, first, after }) => {
      const all = [...projects.values()].filter((p) => p.workspaceId === workspaceId)
      const start = after === null || after === undefined ? 0 : Number(after)
      const size = Math.min(Number(first ?? 100), 100)
      const page = all.slice(start, start + size)
      const end = start + page.length
      return ok({
        projects: {
          pageInfo: { hasNextPage: end < all.length, endCursor: page.length > 0 ? String(end) : null },
          edges: page.map((project) => ({
            node: {
              id: project.id,
              name: project.name,
              environments: {
                edges: project.environments.map((environment) => ({
                  node: {
                    id: environment.id,
                    name: environment.name,
                    serviceInstances: {
                      edges: project.services.map((service) => {
                        const latest = service.deployments[0]
                        const node = {
                          serviceId: service.id,
                          latestDeployment: latest === undefined ? null : { id: latest.id, status: latest.status },
                        }
                        // Seen as it is now; the next read sees it one step on.
                        if (latest !== undefined) advance(latest)
                        return { node }
                      }),
                    },
                  },
                })),
              },
            },
          })),
        },
      })
    },
  }

  const server = await startFakeHttp({
    token: options.token,
    unauthorized: notAuthorized,
    keyOf: ({ body }) => String((body as { operationName?: unknown } | undefined)?.operationName ?? "unknown"),
    handle: ({ path, body, key }) => {
      if (path !== "/graphql/v2") return { status: 404, body: { error: "not found" } }
      const request = (body ?? {}) as { query?: unknown; variables?: Variables; operationName?: unknown }
      const query = request.query
      const variables = request.variables ?? {}
      if (typeof query !== "string") return { status: 400, body: { errors: [{ message: "Must provide query string." }] } }
      const operationName = typeof request.operationName === "string" ? request.operationName : undefined
      const checked = validateRailwayDocument(query, variables, operationName)
      for (const field of checked.deprecated) deprecatedUsed.add(field)
      if (checked.errors.length > 0) {
        invalid.push({ operationName: key, errors: checked.errors })
        return {
          status: 400,
          body: { errors: checked.errors.map((message) => ({ message, extensions: { code: "GRAPHQL_VALIDATION_FAILED" } })) },
        }
      }
      const operation = operations[key]
      // The document must really be the operation it claims to be.
      if (operation === undefined || !query.includes(key.charAt(0).toLowerCase() + key.slice(1))) {
        return { status: 400, body: { errors: [{ message: `unknown operation ${key}` }] } }
      }
      return operation(variables)
    },
  })

  return Object.assign(server, {
    apiUrl: `${server.url}/graphql/v2`,
    projects,
    settings: state,
    deprecatedUsed,
    invalid,
    setDeploymentStatus: (projectId: string, status: string) => {
      const service = projects.get(projectId)?.services[0]
      if (service === undefined) throw new Error(`fake railway: no service in project ${projectId}`)
      service.deployments.unshift({ id: fakeId("dep"), status })
    },
    seed: (names: ReadonlyArray<string>, status = "SUCCESS") =>
      names.map((name) => {
        const project = newProject(name, options.workspaceId)
        project.services.push({
          id: fakeId("svc"),
          name: "agent",
          volumes: [{ id: fakeId("vol"), mountPath: "/data" }],
          domains: [`${name}.up.railway.app`],
          domainTargetPort: undefined,
          image: "seeded",
          startCommand: undefined,
          limitOverride: undefined,
          variables: {},
          deployments: [{ id: fakeId("dep"), status }],
          patchCommits: 1,
          volumeAndDomainBeforeFirstDeploy: true,
        })
        return project.id
      }),
  })
}
