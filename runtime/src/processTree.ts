/** Finding and killing a process and all its descendants on Linux (the gateway spawns worker processes). */
import { readdirSync, readFileSync } from "node:fs"

/** Parent pid of each process, read from /proc/<pid>/stat. */
const readParents = (): Map<number, number> => {
  const parents = new Map<number, number>()
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8")
      // The command name may contain spaces and parentheses: fields after the last ")" are fixed.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      parents.set(Number(entry), Number(fields[1]))
    } catch {
      // The process exited while we looked.
    }
  }
  return parents
}

/** `pid` and all its descendants, parents first. */
export const processTree = (pid: number): Array<number> => {
  const parents = readParents()
  const tree = [pid]
  for (let i = 0; i < tree.length; i++) {
    for (const [child, parent] of parents) if (parent === tree[i]) tree.push(child)
  }
  return tree
}

export const killTree = (pid: number, signal: NodeJS.Signals): void => {
  for (const member of processTree(pid)) {
    try {
      process.kill(member, signal)
    } catch {
      // Already gone.
    }
  }
}

/** Resident memory of a process tree in bytes (VmRSS summed). */
export const treeRssBytes = (pid: number): number => {
  let total = 0
  for (const member of processTree(pid)) {
    try {
      const status = readFileSync(`/proc/${member}/status`, "utf8")
      const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1]
      if (kb) total += Number(kb) * 1024
    } catch {
      // exited
    }
  }
  return total
}
