import { Config, Duration, Effect, Layer, Option, Redacted, Schema } from "effect"
import { FetchHttpClient, HttpClient } from "effect/http"
import {
  type ComputeHandle,
  type ComputeHost,
  ComputeError,
  ComputeProvider,
  type ComputeRef,
  type ComputeSpec,
  type ComputeState,
} from "./ComputeProvider.ts"
import { deleteRetry, makeRequest, RailwayCallError, rateLimitRetry, transientRetry } from "./railway/graphql.ts"
import {
  computeStateOf,
  hostIdOf,
  leakedMasterKeys,
  type ProjectSnapshot,
  projectName,
  servicePatch,
  type ServiceSettings,
} from "./railway/plan.ts"

/**
 * Hosts on Railway: one project with one service (and its volume) per host, named `<prefix><hostId>`.
 *
 * create: project → service (no source, so no deploy yet) → volume at /data → public domain → ONE environment patch
 * with image, start command, limits and variables (this starts the first deploy, with volume and domain already in
 * place). Any failure deletes the project (which cascades to service, volume and domain); when the project's own
 * creation failed ambiguously, it is looked up by name and deleted too.
 * status: pages through the workspace's projects (with each service instance's latest deployment), a few calls per
 * hundreds.
 *
 * Hand-written GraphQL: Railway publishes no JavaScript SDK (its own CLI is Rust); the documents are checked against its
 * published schema by the fake in test/fakes/railway.ts.
 */

export interface RailwayOptions extends ServiceSettings {
  readonly apiUrl: string
  readonly token: Redacted.Redacted<string>
  readonly workspaceId: string
  readonly projectPrefix: string
  readonly volumeMountPath: string
  readonly requestTimeout: Duration.Input
  /** First delay of every retry policy. */
  readonly retryBase: Duration.Input
  /** Projects per status page. */
  readonly pageSize: number
  /** GraphQL calls in flight at once (default 4): many warm-ups in parallel share Railway's per-token rate limit. */
  readonly maxConcurrentCalls?: number
}

export const defaultApiUrl = "https://backboard.railway.com/graphql/v2"

const Edges = <S extends Schema.Top>(node: S) => Schema.Struct({ edges: Schema.Array(Schema.Struct({ node })) })

const ProjectCreated = Schema.Struct({
  projectCreate: Schema.Struct({
    id: Schema.String,
    environments: Edges(Schema.Struct({ id: Schema.String, name: Schema.String })),
  }),
})
const ServiceCreated = Schema.Struct({ serviceCreate: Schema.Struct({ id: Schema.String }) })
const VolumeCreated = Schema.Struct({ volumeCreate: Schema.Struct({ id: Schema.String }) })
const DomainCreated = Schema.Struct({ serviceDomainCreate: Schema.Struct({ domain: Schema.String }) })
const ProjectsPage = Schema.Struct({
  projects: Schema.Struct({
    pageInfo: Schema.Struct({ hasNextPage: Schema.Boolean, endCursor: Schema.NullOr(Schema.String) }),
    edges: Schema.Array(Schema.Struct({
      node: Schema.Struct({
        id: Schema.String,
        name: Schema.String,
        environments: Edges(Schema.Struct({
          id: Schema.String,
          serviceInstances: Edges(Schema.Struct({
            serviceId: Schema.String,
            latestDeployment: Schema.NullOr(Schema.Struct({ status: Schema.String })),
          })),
        })),
      }),
    })),
  }),
})

const toComputeError = (operation: string) => (error: RailwayCallError) =>
  new ComputeError({ provider: "railway", operation, message: `${error.operation}: ${error.message}` })

export const make = (options: RailwayOptions) =>
  Effect.gen(function*() {
    const request = makeRequest(yield* HttpClient.HttpClient, {
      ...options,
      maxConcurrentCalls: options.maxConcurrentCalls ?? 4,
    })
    /** One call whose answer is decoded; an answer of another shape is a clear, non-retryable error. */
    const call = <S extends Schema.Top>(
      operation: Parameters<typeof request>[0],
      variables: Record<string, unknown>,
      answer: S,
    ): Effect.Effect<S["Type"], RailwayCallError> =>
      Effect.flatMap(request(operation, variables), (data) =>
        Schema.decodeUnknownEffect(answer)(data).pipe(
          Effect.mapError((issue) =>
            new RailwayCallError({
              operation,
              message: `unexpected answer: ${String(issue).slice(0, 200)}`,
              retryable: false,
              notFound: false,
            })
          ),
        ) as Effect.Effect<S["Type"], RailwayCallError>)

    /** Every project of the workspace under this pool's prefix, with its services' latest deployment. */
    const listProjects = Effect.gen(function*() {
      const projects: Array<ProjectSnapshot> = []
      let after: string | null = null
      for (;;) {
        const page: typeof ProjectsPage.Type = yield* call("projects", {
          workspaceId: options.workspaceId,
          first: options.pageSize,
          after,
        }, ProjectsPage).pipe(Effect.retry(transientRetry(options.retryBase)))
        for (const { node } of page.projects.edges) {
          if (hostIdOf(options.projectPrefix, node.name) === undefined) continue
          projects.push({
            id: node.id,
            name: node.name,
            services: node.environments.edges.flatMap(({ node: environment }) =>
              environment.serviceInstances.edges.map(({ node: instance }) => ({
                id: instance.serviceId,
                latestDeployment: instance.latestDeployment?.status ?? null,
              }))
            ),
          })
        }
        if (!page.projects.pageInfo.hasNextPage || page.projects.pageInfo.endCursor === null) return projects
        after = page.projects.pageInfo.endCursor
      }
    })

    /**
     * Deletes a project; when the delete fails for good, the workspace is listed again and a project that is no longer
     * there counts as deleted (Railway answers a gone project with "Not Authorized", not "not found").
     */
    const deleteProject = (projectId: string) =>
      call("projectDelete", { id: projectId }, Schema.Unknown).pipe(
        Effect.retry(deleteRetry(options.retryBase)),
        Effect.asVoid,
        Effect.catch((error) =>
          Effect.flatMap(listProjects, (projects) =>
            projects.some((project) => project.id === projectId) ? Effect.fail(error) : Effect.void)
        ),
      )

    const projectIdsNamed = (name: string) =>
      Effect.map(listProjects, (projects) => projects.filter((project) => project.name === name).map((p) => p.id))

    const create = Effect.fn("Railway.create")(function*(spec: ComputeSpec) {
      const leaked = leakedMasterKeys(spec.env, [Redacted.value(options.token)])
      if (leaked.length > 0) {
        return yield* new ComputeError({
          provider: "railway",
          operation: "create",
          message: `refusing to give a host master keys: ${leaked.join(", ")}`,
        })
      }
      // The host keeps its slots (identities, conversations) on the volume, so a restart brings them all back.
      const env: Record<string, string> = { STATE_DIR: options.volumeMountPath, ...spec.env }
      const name = projectName(options.projectPrefix, spec.hostId)
      // Set once the project exists; rollback deletes it. `undefined` after an ambiguous failure: look it up by name.
      let projectId: string | undefined

      const steps = Effect.gen(function*() {
        const created = yield* call("projectCreate", {
          input: { name, workspaceId: options.workspaceId, defaultEnvironmentName: "production" },
        }, ProjectCreated).pipe(Effect.retry(rateLimitRetry(options.retryBase)))
        projectId = created.projectCreate.id
        const environments = created.projectCreate.environments.edges.map((edge) => edge.node)
        const environment = environments.find((env) => env.name === "production") ?? environments[0]
        if (environment === undefined) {
          return yield* new ComputeError({ provider: "railway", operation: "create", message: `project ${projectId} has no environment` })
        }
        const environmentId = environment.id
        const service = yield* call("serviceCreate", {
          input: { projectId, environmentId, name: "agent" },
        }, ServiceCreated).pipe(Effect.retry(rateLimitRetry(options.retryBase)), Effect.mapError(toComputeError("create")))
        const serviceId = service.serviceCreate.id
        // Volume and domain before the first deploy: the host sees RAILWAY_VOLUME_MOUNT_PATH and
        // RAILWAY_PUBLIC_DOMAIN from its very first boot.
        const volume = yield* call("volumeCreate", {
          input: { projectId, serviceId, environmentId, mountPath: options.volumeMountPath },
        }, VolumeCreated).pipe(Effect.retry(rateLimitRetry(options.retryBase)), Effect.mapError(toComputeError("create")))
        // Route the domain to the port the host serves its routes on, when the pool chose one.
        const port = Number(env["PORT"])
        const domain = yield* call("serviceDomainCreate", {
          input: { serviceId, environmentId, ...(Number.isInteger(port) && port > 0 ? { targetPort: port } : {}) },
        }, DomainCreated).pipe(Effect.retry(rateLimitRetry(options.retryBase)), Effect.mapError(toComputeError("create")))
        yield* call("environmentPatchCommit", {
          environmentId,
          patch: servicePatch(serviceId, options, env),
          commitMessage: `convos pool: deploy host ${spec.hostId}`,
        }, Schema.Unknown).pipe(
          // Each commit deploys: after a 5xx or a timeout it may have deployed, so a second one would deploy again.
          Effect.retry(rateLimitRetry(options.retryBase)),
          Effect.mapError(toComputeError("create")),
        )
        const ref: ComputeRef = {
          projectId,
          environmentId,
          serviceId,
          volumeId: volume.volumeCreate.id,
          domain: domain.serviceDomainCreate.domain,
        }
        return { ref, url: `https://${domain.serviceDomainCreate.domain}` } satisfies ComputeHandle
      })

      const rollback = Effect.gen(function*() {
        const ids = projectId !== undefined ? [projectId] : yield* projectIdsNamed(name)
        yield* Effect.forEach(ids, deleteProject, { discard: true })
      })

      return yield* steps.pipe(
        Effect.mapError((error) => error._tag === "RailwayCallError" ? toComputeError("create")(error) : error),
        Effect.onError(() =>
          rollback.pipe(
            Effect.catch((error) =>
              Effect.logWarning(
                `railway: could not roll back ${name} (${error.message}); the next reconcile finds it by name`,
              )
            ),
          )
        ),
      )
    })

    const destroy = Effect.fn("Railway.destroy")(function*(host: ComputeHost) {
      const known = host.ref["projectId"]
      const ids = known !== undefined
        ? [known]
        : yield* projectIdsNamed(projectName(options.projectPrefix, host.hostId))
      yield* Effect.forEach(ids, deleteProject, { discard: true })
    }, Effect.mapError(toComputeError("destroy")))

    const statesFrom = (projects: ReadonlyArray<ProjectSnapshot>, hosts: ReadonlyArray<ComputeHost>) => {
      const states = new Map<string, ComputeState>()
      const byId = new Map(projects.map((project) => [project.id, project]))
      const byName = new Map(projects.map((project) => [project.name, project]))
      for (const host of hosts) {
        const projectId = host.ref["projectId"]
        const project = projectId !== undefined
          ? byId.get(projectId)
          : byName.get(projectName(options.projectPrefix, host.hostId))
        states.set(host.hostId, computeStateOf(project))
      }
      return states as ReadonlyMap<string, ComputeState>
    }

    const hostsOf = (projects: ReadonlyArray<ProjectSnapshot>) =>
      projects.flatMap((project): Array<ComputeHost> => {
        const hostId = hostIdOf(options.projectPrefix, project.name)
        const serviceId = project.services[0]?.id
        return hostId === undefined
          ? []
          : [{ hostId, ref: { projectId: project.id, ...(serviceId === undefined ? {} : { serviceId }) } }]
      })

    const status = Effect.fn("Railway.status")(function*(hosts: ReadonlyArray<ComputeHost>) {
      if (hosts.length === 0) return new Map<string, ComputeState>() as ReadonlyMap<string, ComputeState>
      return statesFrom(yield* listProjects, hosts)
    }, Effect.mapError(toComputeError("status")))

    const listHosts = listProjects.pipe(
      Effect.map(hostsOf),
      Effect.mapError(toComputeError("listHosts")),
      Effect.withSpan("Railway.listHosts"),
    )

    const survey = Effect.fn("Railway.survey")(function*(known: ReadonlyArray<ComputeHost>) {
      const projects = yield* listProjects
      const knownIds = new Set(known.map((k) => k.hostId))
      return {
        states: statesFrom(projects, known),
        unknown: hostsOf(projects).filter((listed) => !knownIds.has(listed.hostId)),
      }
    }, Effect.mapError(toComputeError("survey")))

    return ComputeProvider.of({ kind: "railway", create, destroy, status, listHosts, survey })
  })

/**
 * Reads the Railway configuration; the token stays redacted. `RAILWAY_API_TOKEN` is an account or workspace token
 * (sent as Bearer); a project token cannot create projects. `RAILWAY_WORKSPACE_ID` is the workspace the projects go
 * in (Railway's teams became workspaces; `RAILWAY_TEAM_ID` is still read when it is unset).
 */
export const config = Config.all({
  token: Config.Redacted("RAILWAY_API_TOKEN"),
  workspaceId: Config.String("RAILWAY_WORKSPACE_ID").pipe(Config.orElse(() => Config.String("RAILWAY_TEAM_ID"))),
  image: Config.String("RAILWAY_RUNTIME_IMAGE"),
  apiUrl: Config.String("RAILWAY_API_URL").pipe(Config.withDefault(defaultApiUrl)),
  startCommand: Config.option(Config.String("RAILWAY_START_COMMAND")),
  cpu: Config.Number("RAILWAY_INSTANCE_CPU").pipe(Config.withDefault(2)),
  memoryGb: Config.Number("RAILWAY_INSTANCE_MEMORY_GB").pipe(Config.withDefault(4)),
  projectPrefix: Config.String("RAILWAY_PROJECT_PREFIX").pipe(Config.withDefault("convos-agent-")),
  requestTimeoutMillis: Config.Int("RAILWAY_REQUEST_TIMEOUT_MS").pipe(Config.withDefault(20_000)),
}).pipe(
  Config.map(({ startCommand, requestTimeoutMillis, ...rest }): RailwayOptions => ({
    ...rest,
    startCommand: Option.getOrUndefined(startCommand),
    requestTimeout: Duration.millis(requestTimeoutMillis),
    volumeMountPath: "/data",
    retryBase: Duration.seconds(1),
    pageSize: 100,
  })),
)

/** The Railway `ComputeProvider` with explicit options (tests, scripts). */
export const layerWith = (options: RailwayOptions) =>
  Layer.effect(ComputeProvider, make(options)).pipe(Layer.provide(FetchHttpClient.layer))

/** The Railway `ComputeProvider` from configuration (`RAILWAY_*`). */
export const layer = Layer.unwrap(Effect.gen(function*() {
  return layerWith(yield* config)
}))
