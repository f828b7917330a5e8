/** The plugin's small JSON state files in a slot's state dir (memory, reminders, the binding). */
import { randomBytes } from "node:crypto"
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs"
import { dirname } from "node:path"

/** Writes whole and atomically (a crash mid-write leaves the old file), readable only by the host's user. */
export const writeJsonAtomic = (path: string, value: unknown): void => {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const temp = `${path}.${randomBytes(4).toString("hex")}.tmp`
  writeFileSync(temp, JSON.stringify(value, null, 1), { mode: 0o600 })
  renameSync(temp, path)
}

/** The items of a JSON array file that pass `isItem`; none when the file is missing, unreadable or not an array. */
export const readJsonArray = <A>(path: string, isItem: (value: unknown) => value is A): Array<A> => {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, "utf8"))
    return Array.isArray(parsed) ? parsed.filter(isItem) : []
  } catch {
    return []
  }
}
