/**
 * Entry point of an agent instance, launched by the pool as `node runtime/src/main.ts` with the environment of
 * docs/instance-contract.md. Node 24 strips the types itself: keep the supervisor to erasable TypeScript and built-ins.
 * Exits non-zero when it cannot run (bad env, repeated gateway crashes).
 */
import { InstanceEnvError, parseInstanceEnv } from "./instanceEnv.ts"
import { Supervisor } from "./supervisor.ts"

const log = {
  info: (message: string) => console.log(`[runtime] ${message}`),
  error: (message: string) => console.error(`[runtime] ${message}`),
}

const main = async (): Promise<number> => {
  let instance
  try {
    instance = parseInstanceEnv(process.env)
  } catch (error) {
    if (error instanceof InstanceEnvError) {
      log.error(error.message)
      return 2
    }
    throw error
  }
  const startTimeoutMs = Number(process.env.RUNTIME_GATEWAY_START_TIMEOUT_MS ?? "")
  const supervisor = new Supervisor({ instance, log, ...(startTimeoutMs > 0 ? { startTimeoutMs } : {}) })
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
