import { Duration, Effect, Exit, Option, Redacted } from "effect"
import type { HostEnv } from "../../contract/index.ts"
import type { ComputeProvider } from "./compute/ComputeProvider.ts"
import { type Hosts, loadOf } from "./db/Hosts.ts"
import { hostsToRetire, nextHostStatus } from "./domain/placement.ts"
import type { HostClient } from "./HostClient.ts"
import type { PoolSettings } from "./PoolConfig.ts"

/**
 * A host's life, for the pool (Pool.ts): start its compute and wait until it answers, then retire it once empty.
 * Split out of the pool as it is: the same effects over the pool's services, and the pool's placement lock passed
 * in (retiring marks a host under it, so no placer picks a host that is going away).
 */
export const hostLifecycle = (deps: {
  readonly compute: ComputeProvider["Service"]
  readonly hostsRepo: Hosts["Service"]
  readonly hostClient: HostClient["Service"]
  readonly hostToken: (hostId: string) => Redacted.Redacted<string>
  readonly config: PoolSettings
  readonly withPlacementLock: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}) => {
  const { compute, hostsRepo, hostClient, hostToken, config, withPlacementLock } = deps
  const startTimeoutMs = Duration.toMillis(config.startTimeout)

  /** The environment a new host gets (`HostEnv` of the contract, less PORT and STATE_DIR, which compute picks). */
  const hostEnvOf = (hostId: string): Record<string, string> => {
    const env = {
      HOST_ID: hostId,
      HOST_TOKEN: Redacted.value(hostToken(hostId)),
      HOST_CAPACITY: String(config.agentsPerHost),
      POOL_URL: config.publicUrl,
      XMTP_ENV: config.xmtpEnv,
    } satisfies Omit<typeof HostEnv.Encoded, "PORT" | "STATE_DIR">
    return config.xmtpApiUrl === undefined ? env : { ...env, XMTP_API_URL: config.xmtpApiUrl }
  }

  /**
   * Creates a host's compute and records it. On failure the host is marked down without a URL, so the slots
   * waiting for it give up (and roll back), and the reconciler retires it once it is empty.
   */
  const startHost = Effect.fn("Pool.startHost")(function*(hostId: string) {
    const started = Date.now()
    const created = yield* Effect.exit(compute.create({ hostId, env: hostEnvOf(hostId) }))
    if (Exit.isFailure(created)) {
      yield* Effect.logWarning(`host ${hostId} could not be created`, created.cause)
      yield* hostsRepo.setStatus(hostId, "down", { ok: false })
      return
    }
    const handle = created.value
    if (!(yield* hostsRepo.setCompute(hostId, handle.ref, handle.url))) {
      // Retired while its compute was being made: remove what was made.
      yield* compute.destroy({ hostId, ref: handle.ref }).pipe(Effect.ignore)
      return
    }
    yield* Effect.logInfo(`host ${hostId} created (${compute.kind}); waiting for it to answer`)
    const url = yield* Effect.exit(awaitHost(hostId))
    if (Exit.isSuccess(url)) yield* hostsRepo.recordStart(hostId, Date.now() - started)
  })

  /** Waits until a host has a URL and answers its health route; the host's URL. */
  const awaitHost = (hostId: string) =>
    Effect.gen(function*() {
      const deadline = Date.now() + startTimeoutMs
      while (Date.now() < deadline) {
        const host = yield* hostsRepo.findById(hostId)
        if (Option.isNone(host) || host.value.status === "retiring") break
        const { url, status } = host.value
        if (url === null && status !== "starting") break // its compute could not be created
        if (url !== null) {
          const health = yield* Effect.option(hostClient.health(url, hostToken(hostId)))
          if (Option.isSome(health)) {
            yield* hostsRepo.setStatus(hostId, nextHostStatus(status, {
              answered: true,
              gatewayReady: health.value.gatewayReady,
            }), { ok: true, version: health.value.version })
            return url
          }
        }
        yield* Effect.sleep(Duration.millis(200))
      }
      return yield* Effect.fail(new Error(`host ${hostId} did not come up`))
    })

  /** Destroys an empty host: marked retiring first (under the replenish lock), then compute, then the row. */
  const retireHost = Effect.fn("Pool.retireHost")(function*(hostId: string) {
    const marked = yield* withPlacementLock(hostsRepo.markRetiring(hostId))
    if (!marked) return false
    const host = yield* hostsRepo.findById(hostId)
    const ref = Option.isSome(host) ? host.value.compute_ref : {}
    const destroyed = yield* Effect.exit(compute.destroy({ hostId, ref }))
    if (Exit.isFailure(destroyed)) {
      yield* Effect.logWarning(`could not destroy host ${hostId}; the reconciler retries`)
      return false
    }
    yield* hostsRepo.delete(hostId)
    yield* Effect.logInfo(`host ${hostId} retired`)
    return true
  })

  /** Retires every host with no slot left (after the replenish of the same tick placed what it needed). */
  const retireEmptyHosts = Effect.gen(function*() {
    const hosts = yield* hostsRepo.list
    const retired = yield* Effect.forEach(hostsToRetire(hosts.map(loadOf)), retireHost, { concurrency: 4 })
    // A host left `retiring` by a failed destroy is tried again.
    const stuck = hosts.filter((h) => h.status === "retiring" && h.slots === 0)
    yield* Effect.forEach(stuck, (h) =>
      compute.destroy({ hostId: h.id, ref: h.compute_ref }).pipe(
        Effect.andThen(hostsRepo.delete(h.id)),
        Effect.catch(() => Effect.logWarning(`host ${h.id} not destroyed yet`)),
      ), { discard: true })
    return retired.filter(Boolean).length
  })

  return { startHost, awaitHost, retireHost, retireEmptyHosts }
}
