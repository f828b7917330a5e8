import { randomBytes } from "node:crypto"
import type { SlotModel } from "../../../contract/index.ts"

/**
 * Where slots go, which hosts go, and how long a waiting claim waits: pure decisions over what the pool knows of
 * its hosts (pool/test/placement.test.ts).
 */

export const HostStatuses = ["starting", "ready", "down", "retiring"] as const
export type HostStatus = (typeof HostStatuses)[number]

export interface HostLoad {
  readonly id: string
  readonly status: HostStatus
  readonly draining: boolean
  readonly capacity: number
  /** Slot rows on the host, whatever their status: each holds a place on the host until it is destroyed. */
  readonly slots: number
}

/** One new slot goes on an existing host, or on the `index`-th host to start now. */
export type Placement = { readonly _tag: "Existing"; readonly hostId: string } | { readonly _tag: "New"; readonly index: number }

/**
 * Places `count` new slots: on hosts that take new slots (starting or ready, not draining) and have room, fullest
 * first, so the emptiest hosts empty out and can be retired or drained; ties go to the oldest host (ids are
 * time-ordered). Only when no host has room do new hosts start, each holding `perHost` slots.
 */
export const placeSlots = (
  hosts: ReadonlyArray<HostLoad>,
  count: number,
  perHost: number,
): { readonly placements: ReadonlyArray<Placement>; readonly newHosts: number } => {
  const open = hosts
    .filter((h) => (h.status === "starting" || h.status === "ready") && !h.draining && h.slots < h.capacity)
    .map((h) => ({ id: h.id, room: h.capacity - h.slots, slots: h.slots }))
    .sort((a, b) => b.slots - a.slots || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  const placements: Array<Placement> = []
  for (const host of open) {
    while (host.room > 0 && placements.length < count) {
      placements.push({ _tag: "Existing", hostId: host.id })
      host.room--
    }
  }
  let newHosts = 0
  for (let i = 0; placements.length < count; i++) {
    if (i % perHost === 0) newHosts++
    placements.push({ _tag: "New", index: newHosts - 1 })
  }
  return { placements, newHosts }
}

/**
 * Hosts to destroy: those with no slot left. Replenish runs before this in the same tick and places new slots
 * fullest first, so a host that is still empty after it is not needed; a draining host goes once its last slot
 * has gone.
 */
export const hostsToRetire = (hosts: ReadonlyArray<HostLoad>): ReadonlyArray<string> =>
  hosts.filter((h) => h.slots === 0 && h.status !== "retiring").map((h) => h.id)

/** A host's health status after one reconcile observation (pure; `retiring` is never left here). */
export const nextHostStatus = (
  current: HostStatus,
  observed: { readonly answered: boolean; readonly gatewayReady: boolean },
): HostStatus => {
  if (current === "retiring") return current
  if (observed.answered && observed.gatewayReady) return "ready"
  // A host that never answered yet is still starting; one that did and stopped answering (or whose gateway is
  // restarting, or whose compute is being restarted) is down: its slots stay, none is handed out.
  return current === "starting" ? "starting" : "down"
}

/** Defaults until a host has measured its own (the real runtime: a gateway start, and a slot's warm-up turn). */
export const defaultEstimates = { hostStartMs: 30_000, slotReadyMs: 20_000 } as const

/** The wait a claim reports while a slot is made ready for it: measured times when known, else the defaults. */
export const etaSeconds = (input: {
  readonly slotReadyMs: number | null
  readonly hostStartMs: number | null
  readonly newHost: boolean
}): number => {
  const slot = input.slotReadyMs ?? defaultEstimates.slotReadyMs
  const host = input.newHost ? input.hostStartMs ?? defaultEstimates.hostStartMs : 0
  return Math.max(1, Math.ceil((slot + host) / 1000))
}

/** A moving average that follows recent measurements (a few warm-ups move it most of the way). */
export const movingAverage = (previous: number | null, sample: number) =>
  previous === null ? Math.round(sample) : Math.round(previous * 0.7 + sample * 0.3)

/**
 * The one model key a slot gets: its own capped OpenRouter key when the OpenRouter provider made one, else the
 * shared model settings. Never both.
 */
export const slotModelOf = (
  resourceEnv: Readonly<Record<string, string>>,
  shared: SlotModel,
  openRouterModel: string,
): SlotModel => {
  const own = resourceEnv["OPENROUTER_API_KEY"]
  return own !== undefined ? { kind: "openrouter", apiKey: own, model: openRouterModel } : shared
}

const TOOL_VARIABLE = /^(AGENTMAIL|TELNYX)_/

/** The tool variables of a slot's resources (AGENTMAIL_*, TELNYX_*); model keys travel in `model`, never here. */
export const slotToolsOf = (resourceEnv: Readonly<Record<string, string>>): Record<string, string> =>
  Object.fromEntries(Object.entries(resourceEnv).filter(([name]) => TOOL_VARIABLE.test(name)))

/** Time-ordered host ids (`[a-z0-9]{18}`, as the contract's ids): sorting by id is sorting by age; 4 random bytes keep hosts made in one millisecond apart. */
export const newHostId = (now = Date.now()) =>
  `h${now.toString(36).padStart(9, "0")}${randomBytes(4).toString("hex")}`
