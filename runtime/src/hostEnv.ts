/**
 * The host's environment (contract `HostEnv`, docs/instance-contract.md), decoded once with the contract. Pure: takes
 * the env as a value. No model key and no slot token is in it: those arrive per slot over `PUT /host/slots/:id`.
 */
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import { HostEnv } from "../../contract/index.ts"

export interface HostSettings {
  readonly hostId: string
  readonly hostToken: string
  readonly capacity: number
  readonly port: number
  /** Where the host routes are served: loopback for local processes, 0.0.0.0 in a container (BIND_HOST). */
  readonly bindHost: string
  readonly stateDir: string
  readonly poolUrl: string | undefined
  readonly xmtpEnv: "local" | "dev" | "production"
  readonly xmtpApiUrl: string | undefined
}

export class HostEnvError extends Error {
  override readonly name = "HostEnvError"
}

/** One line from a schema failure: what was wrong, and where. */
export const schemaProblem = (cause: Cause.Cause<unknown>): string => String(Cause.squash(cause)).replace(/^SchemaError\(|\)$/g, "").replace(/\s+/g, " ").trim()

const blankToUndefined = (env: NodeJS.ProcessEnv): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(env)) if (value !== undefined && value.trim() !== "") out[key] = value.trim()
  return out
}

export const parseHostEnv = (env: NodeJS.ProcessEnv): HostSettings => {
  const decoded = Schema.decodeUnknownExit(HostEnv)(blankToUndefined(env), { errors: "first" })
  if (Exit.isFailure(decoded)) throw new HostEnvError(`bad host environment (see docs/instance-contract.md): ${schemaProblem(decoded.cause)}`)
  const e = decoded.value
  return {
    hostId: e.HOST_ID,
    hostToken: e.HOST_TOKEN,
    capacity: e.HOST_CAPACITY,
    port: e.PORT,
    bindHost: e.BIND_HOST ?? "127.0.0.1",
    stateDir: e.STATE_DIR,
    poolUrl: e.POOL_URL?.replace(/\/+$/, ""),
    xmtpEnv: e.XMTP_ENV ?? "dev",
    xmtpApiUrl: e.XMTP_API_URL,
  }
}
