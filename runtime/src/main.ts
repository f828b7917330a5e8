/**
 * Entry point of a runtime host, launched by the pool as contract `hostLaunch` says with the host environment of
 * docs/instance-contract.md (contract `HostEnv`). Node 24 strips the types itself: keep the supervisor to erasable
 * TypeScript, built-ins, `effect` and `contract/index.ts`. Exits non-zero when it cannot run (bad env, repeated
 * gateway crashes).
 */
import { HostEnvError, parseHostEnv } from "./hostEnv.ts"
import { Supervisor } from "./supervisor.ts"

const log = {
  info: (message: string) => console.log(`[runtime] ${message}`),
  error: (message: string) => console.error(`[runtime] ${message}`),
}

const main = async (): Promise<number> => {
  let host
  try {
    host = parseHostEnv(process.env)
  } catch (error) {
    if (error instanceof HostEnvError) {
      log.error(error.message)
      return 2
    }
    throw error
  }
  const startTimeoutMs = Number(process.env.RUNTIME_GATEWAY_START_TIMEOUT_MS ?? "")
  const supervisor = new Supervisor({ host, log, ...(startTimeoutMs > 0 ? { startTimeoutMs } : {}) })
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      log.info(`${signal}: stopping`)
      void supervisor.stop(0)
    })
  }
  await supervisor.start()
  return supervisor.done
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log.error(`fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
    process.exit(1)
  },
)
