/** Pure formatting for the operator CLI: plain-text tables that read well in a terminal. */

export const table = (headers: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()
  return [line(headers), line(widths.map((w) => "─".repeat(w))), ...rows.map(line)].join("\n")
}

export const ago = (iso: string | null, now = Date.now()): string => {
  if (!iso) return "–"
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000))
  if (seconds < 60) return `${seconds}s ago`
  if (seconds < 3600) return `${Math.round(seconds / 60)}m ago`
  if (seconds < 86_400) return `${Math.round(seconds / 3600)}h ago`
  return `${Math.round(seconds / 86_400)}d ago`
}

export interface HostView {
  readonly id: string
  readonly status: string
  readonly draining: boolean
  readonly computeKind: string
  readonly capacity: number
  readonly used: number
  readonly idle: number
  readonly starting: number
  readonly lastHealthAt: string | null
}

/** One line per host: what it holds of its capacity, its health and its compute kind (what it costs). */
export const hostsReport = (hosts: ReadonlyArray<HostView>, now = Date.now()): string =>
  hosts.length === 0 ? "no hosts" : table(
    ["HOST", "STATUS", "COMPUTE", "USED", "IDLE", "STARTING", "CAPACITY", "HEALTHY"],
    hosts.map((h) => [
      h.id,
      h.draining ? `${h.status}, draining` : h.status,
      h.computeKind,
      String(h.used),
      String(h.idle),
      String(h.starting),
      String(h.capacity),
      ago(h.lastHealthAt, now),
    ]),
  )

export interface InstanceView {
  readonly id: string
  readonly hostId?: string | null
  readonly status: string
  readonly agentName: string | null
  readonly inboxId: string | null
  readonly createdAt: string
  readonly lastHealthAt: string | null
  readonly statusReason: string | null
  readonly resources: ReadonlyArray<{ readonly tool: string }>
}

export const statusReport = (
  counts: Readonly<Record<string, number>>,
  instances: ReadonlyArray<InstanceView>,
  now = Date.now(),
): string => {
  const summary = Object.entries(counts).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s}`).join(", ") ||
    "no instances"
  if (instances.length === 0) return summary
  const rows = instances.map((i) => [
    i.id,
    i.hostId ?? "–",
    i.status,
    i.agentName ?? "–",
    i.inboxId ? `${i.inboxId.slice(0, 8)}…` : "–",
    ago(i.createdAt, now),
    ago(i.lastHealthAt, now),
    i.resources.map((r) => r.tool).join(",") || "–",
    i.statusReason ?? "",
  ])
  return `${summary}\n\n${table(["ID", "HOST", "STATUS", "AGENT", "INBOX", "CREATED", "HEALTHY", "RESOURCES", "NOTE"], rows)}`
}
