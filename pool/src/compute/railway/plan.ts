import type { ComputeState } from "../ComputeProvider.ts"

/**
 * The decisions of the Railway provider, free of HTTP: names, the one environment patch that deploys a service, how a
 * project's latest deployment maps to a compute state, and the check that no master key rides along to a host.
 */

/** Project names carry the host id, so a pool that died mid-create finds its projects again by name. */
export const projectName = (prefix: string, hostId: string) => `${prefix}${hostId}`

export const hostIdOf = (prefix: string, name: string): string | undefined =>
  name.startsWith(prefix) && name.length > prefix.length ? name.slice(prefix.length) : undefined

export interface ServiceSettings {
  readonly image: string
  readonly startCommand: string | undefined
  readonly cpu: number
  readonly memoryGb: number
}

/**
 * The single `environmentPatchCommit` patch for a fresh service: image, start command, resource limits and every
 * variable at once. Setting the image is what triggers the first deploy, so nothing may arrive in a later call
 * (separate calls raced: some hosts booted without their variables).
 */
export const servicePatch = (serviceId: string, settings: ServiceSettings, env: Readonly<Record<string, string>>) => ({
  services: {
    [serviceId]: {
      source: { image: settings.image },
      deploy: {
        ...(settings.startCommand === undefined ? {} : { startCommand: settings.startCommand }),
        limitOverride: {
          containers: { cpu: settings.cpu, memoryBytes: Math.round(settings.memoryGb * 1024 ** 3) },
        },
      },
      variables: Object.fromEntries(Object.entries(env).map(([key, value]) => [key, { value }])),
    },
  },
})

/** Railway deployment statuses (`DeploymentStatus`), as far as the pool cares. */
const deploying = new Set(["BUILDING", "DEPLOYING", "INITIALIZING", "QUEUED", "WAITING", "NEEDS_APPROVAL"])
const failed = new Set(["FAILED", "CRASHED", "REMOVED", "REMOVING", "SKIPPED"])

export interface ProjectSnapshot {
  readonly id: string
  readonly name: string
  /** Latest deployment status of each service in the project (null: the service has no deployment yet). */
  readonly services: ReadonlyArray<{ readonly id: string; readonly latestDeployment: string | null }>
}

/**
 * A project with no service is one whose creation never finished: it will not come up by itself. A service with no
 * deployment yet is still being set up. `SLEEPING` counts as running: Railway wakes it on the next request.
 */
export const computeStateOf = (project: ProjectSnapshot | undefined): ComputeState => {
  if (project === undefined) return "gone"
  const service = project.services[0]
  if (service === undefined) return "failed"
  const status = service.latestDeployment
  if (status === null || deploying.has(status)) return "deploying"
  if (status === "SUCCESS" || status === "SLEEPING") return "running"
  if (failed.has(status)) return "failed"
  return "deploying"
}

/**
 * Variables that must never reach a host: provider master keys and the pool's own secrets. A host holds
 * its own host token, nothing else: model keys and slot tokens arrive per slot, over the host routes.
 */
export const masterKeyNames: ReadonlyArray<string> = [
  "RAILWAY_API_TOKEN",
  "OPENROUTER_MANAGEMENT_KEY",
  "AGENTMAIL_API_KEY",
  "TELNYX_API_KEY",
  "POOL_API_KEY",
  "DATABASE_URL",
  // Model keys travel per slot (PUT /host/slots/:id), never in a host's environment.
  "OPENROUTER_API_KEY",
  "OPENAI_API_KEY",
  "AGENT_MODEL_API_KEY",
]

/** Names of the offending variables: a master key by name, or any variable whose value is one of the given secrets. */
export const leakedMasterKeys = (
  env: Readonly<Record<string, string>>,
  secretValues: ReadonlyArray<string>,
): ReadonlyArray<string> =>
  Object.entries(env)
    .filter(([key, value]) =>
      masterKeyNames.includes(key) || secretValues.some((secret) => secret.length > 0 && value.includes(secret))
    )
    .map(([key]) => key)
