/**
 * Reminders and scheduled messages of one agent ("remind us Friday at 9 to book the ferry", "every Monday at 8 post
 * the plan"), posted into its own conversation only. Kept in its slot's state dir, so they survive restarts and no
 * other slot sees them: the tools write `reminders.json`; the account's scheduler (started with the account, in the
 * channel) alone writes `reminders-fired.json`, so the two never race on one file. A reminder is marked fired before it
 * is posted: after a crash it is never posted twice (a recurring one waits for its next time).
 *
 * Times: an `at` with an offset is absolute; without one it is wall-clock time in `timeZone` (the group's, when the
 * model knows it; UTC otherwise), and daily/weekly repeats keep that wall-clock time across DST changes.
 *
 * OpenClaw's cron is not used: its jobs run an agent turn per firing (a model call each time, for a fixed text) and
 * its tool can target any session or channel, where a slot's reminders must only ever reach its own conversation.
 */
import { randomBytes } from "node:crypto"
import { statSync } from "node:fs"
import { join } from "node:path"
import type { AnyAgentTool } from "openclaw/plugin-sdk/core"
import { readJsonArray, writeJsonAtomic } from "./jsonFile.ts"
import { record, textResult } from "./toolParams.ts"

export const REMINDER_TOOL_NAMES = ["reminder_set", "reminder_list", "reminder_cancel"] as const
export const MAX_REMINDERS = 50
const REPEATS = ["none", "hourly", "daily", "weekly"] as const
export type Repeat = (typeof REPEATS)[number]

export interface Reminder {
  readonly id: string
  readonly text: string
  /** The first time, as an absolute instant (ISO, UTC). */
  readonly at: string
  readonly timeZone: string
  readonly repeat: Repeat
}

interface Fired {
  readonly id: string
  /** The occurrence last posted (ISO). */
  readonly occurrence: string
}

const isReminder = (v: unknown): v is Reminder =>
  typeof v === "object" && v !== null && typeof (v as Reminder).id === "string" && typeof (v as Reminder).at === "string" && typeof (v as Reminder).text === "string"
const isFired = (v: unknown): v is Fired => typeof v === "object" && v !== null && typeof (v as Fired).id === "string" && typeof (v as Fired).occurrence === "string"

export const remindersPath = (stateDir: string) => join(stateDir, "reminders.json")
const firedPath = (stateDir: string) => join(stateDir, "reminders-fired.json")
export const readReminders = (stateDir: string) => readJsonArray(remindersPath(stateDir), isReminder)
const readFired = (stateDir: string) => readJsonArray(firedPath(stateDir), isFired)

// ---- time zones (Intl only) ----

export const isTimeZone = (timeZone: string): boolean => {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone })
    return true
  } catch {
    return false
  }
}

/** The wall-clock fields of an instant in a time zone. */
const wallClock = (instant: number, timeZone: string) => {
  const parts = new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" }).formatToParts(instant)
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0)
  return { year: get("year"), month: get("month"), day: get("day"), hour: get("hour"), minute: get("minute"), second: get("second") }
}

/** The instant of a wall-clock time in a time zone (the later one when it is ambiguous). */
export const zonedInstant = (fields: { year: number; month: number; day: number; hour: number; minute: number; second: number }, timeZone: string): number => {
  const asUtc = Date.UTC(fields.year, fields.month - 1, fields.day, fields.hour, fields.minute, fields.second)
  const offsetAt = (instant: number) => {
    const w = wallClock(instant, timeZone)
    return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(instant / 1000) * 1000
  }
  const first = asUtc - offsetAt(asUtc)
  return asUtc - offsetAt(first)
}

/** Parses the model's `at`: ISO with an offset (absolute), or a local date-time in `timeZone`. */
export const parseAt = (at: string, timeZone: string): number => {
  const trimmed = at.trim()
  if (/(Z|[+-]\d{2}:?\d{2})$/i.test(trimmed)) {
    const instant = Date.parse(trimmed)
    if (Number.isNaN(instant)) throw new Error(`at is not a valid date-time: ${trimmed}`)
    return instant
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(trimmed)
  if (!m) throw new Error("at must be a date-time like 2026-12-11T09:00 (local to timeZone) or 2026-12-11T09:00:00Z")
  const [year, month, day, hour, minute, second] = m.slice(1).map((s) => Number(s ?? 0)) as [number, number, number, number, number, number]
  return zonedInstant({ year, month, day, hour, minute, second }, timeZone)
}

/** The k-th occurrence (k ≥ 0) of a reminder. */
export const occurrence = (reminder: Reminder, k: number): number => {
  const first = Date.parse(reminder.at)
  if (reminder.repeat === "none" || k === 0) return first
  if (reminder.repeat === "hourly") return first + k * 3_600_000
  const w = wallClock(first, reminder.timeZone)
  return zonedInstant({ ...w, day: w.day + k * (reminder.repeat === "daily" ? 1 : 7) }, reminder.timeZone)
}

/**
 * The occurrence due now, if any. Never one already posted; a recurring one missed while the agent was down by more
 * than `graceMs` is skipped to the next (a one-off missed is still posted, late).
 */
export const dueOccurrence = (reminder: Reminder, lastFired: number | undefined, now: number, graceMs = 60_000): number | undefined => {
  if (reminder.repeat === "none") return lastFired === undefined && Date.parse(reminder.at) <= now ? Date.parse(reminder.at) : undefined
  let k = 0
  let next = occurrence(reminder, 0)
  // Bounded: at most a few years of hourly steps between two ticks.
  while ((lastFired !== undefined && next <= lastFired) || next < now - graceMs) {
    if (k > 100_000) return undefined
    k += 1
    next = occurrence(reminder, k)
  }
  return next <= now ? next : undefined
}

/** The next time a reminder will be posted (undefined: a one-off already posted). */
export const nextOccurrence = (reminder: Reminder, lastFired: number | undefined, now: number): number | undefined => {
  if (reminder.repeat === "none") return lastFired === undefined ? Date.parse(reminder.at) : undefined
  let k = 0
  let next = occurrence(reminder, 0)
  while ((lastFired !== undefined && next <= lastFired) || next < now) {
    if (k > 100_000) return undefined
    k += 1
    next = occurrence(reminder, k)
  }
  return next
}

export const describeTime = (instant: number, timeZone: string): string =>
  `${new Intl.DateTimeFormat("en-GB", { timeZone, weekday: "short", day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }).format(instant)} (${timeZone})`

/** The text posted in the group. */
export const reminderMessage = (reminder: Reminder) => `⏰ ${reminder.text}`

// ---- the tools ----

export interface ReminderInput {
  readonly text: string
  readonly at: string
  readonly timeZone?: string
  readonly repeat?: string
}

/** Validates and stores a new reminder; returns it. */
export const addReminder = (stateDir: string, input: ReminderInput, now: number = Date.now()): Reminder => {
  const text = (input.text ?? "").replace(/\s+/g, " ").trim()
  if (text === "") throw new Error("text is required")
  if (text.length > 1_000) throw new Error("text is longer than 1000 characters")
  const timeZone = input.timeZone?.trim() || "UTC"
  if (!isTimeZone(timeZone)) throw new Error(`timeZone must be an IANA time zone such as Europe/Lisbon, got "${timeZone}"`)
  const repeat = (input.repeat?.trim() || "none") as Repeat
  if (!REPEATS.includes(repeat)) throw new Error(`repeat must be one of ${REPEATS.join(", ")}`)
  const first = parseAt(String(input.at ?? ""), timeZone)
  if (first < now - 5_000 && repeat === "none") throw new Error(`that time is in the past (now is ${new Date(now).toISOString()})`)
  if (first > now + 366 * 86_400_000) throw new Error("that is more than a year ahead")
  const reminders = readReminders(stateDir)
  if (reminders.length >= MAX_REMINDERS) throw new Error(`there are already ${MAX_REMINDERS} reminders: cancel some first`)
  const reminder: Reminder = { id: `r${randomBytes(3).toString("hex")}`, text, at: new Date(first).toISOString(), timeZone, repeat }
  writeJsonAtomic(remindersPath(stateDir), [...reminders, reminder])
  return reminder
}

export const listReminders = (stateDir: string, now: number = Date.now()): string => {
  const fired = new Map(readFired(stateDir).map((f) => [f.id, Date.parse(f.occurrence)]))
  const lines = readReminders(stateDir).flatMap((r) => {
    const next = nextOccurrence(r, fired.get(r.id), now)
    return next === undefined ? [] : [`- [${r.id}] "${r.text}" next ${describeTime(next, r.timeZone)}${r.repeat === "none" ? "" : `, repeats ${r.repeat}`}`]
  })
  return lines.length === 0 ? "No reminders are scheduled." : ["Scheduled reminders:", ...lines].join("\n")
}

export const cancelReminder = (stateDir: string, id: string): Reminder | undefined => {
  const reminders = readReminders(stateDir)
  const found = reminders.find((r) => r.id === id.trim())
  if (found) writeJsonAtomic(remindersPath(stateDir), reminders.filter((r) => r !== found))
  return found
}

export const reminderTools = (stateDir: string): Array<AnyAgentTool> => [
  {
    catalogMode: "direct-only",
    name: "reminder_set",
    label: "Schedule a reminder",
    description:
      "Schedule a message you will post in this group at a time, once or repeating (\"remind us Friday at 9 to book the ferry\", \"every Monday at 8 post the plan\"). Use the group's time zone when you know it.",
    parameters: {
      type: "object",
      additionalProperties: false,
      required: ["text", "at"],
      properties: {
        text: { type: "string", description: "What to post, written to the group (e.g. \"Time to book the ferry!\")" },
        at: { type: "string", description: "When: local date-time like 2026-12-11T09:00 in timeZone, or ISO with offset" },
        timeZone: { type: "string", description: "IANA time zone of `at`, e.g. Europe/Lisbon (default UTC)" },
        repeat: { type: "string", enum: [...REPEATS], description: "none (default), hourly, daily or weekly" },
      },
    },
    execute: async (_id, raw) => {
      const params = record(raw)
      const input: ReminderInput = {
        text: String(params.text ?? ""),
        at: String(params.at ?? ""),
        ...(typeof params.timeZone === "string" ? { timeZone: params.timeZone } : {}),
        ...(typeof params.repeat === "string" ? { repeat: params.repeat } : {}),
      }
      let reminder: Reminder
      try {
        reminder = addReminder(stateDir, input)
      } catch (error) {
        throw new Error(`reminder_set was not done: ${error instanceof Error ? error.message : String(error)}. Fix the input and try again.`)
      }
      const when = describeTime(Date.parse(reminder.at), reminder.timeZone)
      return textResult(`Scheduled [${reminder.id}] for ${when}${reminder.repeat === "none" ? "" : `, repeating ${reminder.repeat}`}: "${reminder.text}"`, { id: reminder.id, at: reminder.at })
    },
  },
  {
    catalogMode: "direct-only",
    name: "reminder_list",
    label: "List reminders",
    description: "List this group's scheduled reminders with their ids and next times.",
    parameters: { type: "object", additionalProperties: false, properties: {} },
    execute: async () => textResult(listReminders(stateDir), {}),
  },
  {
    catalogMode: "direct-only",
    name: "reminder_cancel",
    label: "Cancel a reminder",
    description: "Cancel a scheduled reminder by its id from reminder_list.",
    parameters: { type: "object", additionalProperties: false, required: ["id"], properties: { id: { type: "string", description: "The reminder's id" } } },
    execute: async (_id, raw) => {
      const found = cancelReminder(stateDir, String(record(raw).id ?? ""))
      return textResult(found ? `Cancelled [${found.id}] "${found.text}".` : "No reminder has that id: see reminder_list.", { cancelled: found !== undefined })
    },
  },
]

// ---- the scheduler (one per running account) ----

/** How often the scheduler looks: reminders post within this of their time. */
export const TICK_MS = 250

export interface SchedulerOptions {
  readonly stateDir: string
  readonly post: (text: string) => Promise<void>
  readonly log: { warn(message: string): void }
  readonly now?: () => number
}

/** One look at the account's reminders: posts those due through `post`. Re-reads the file only when it changed. */
export const reminderTicker = (options: SchedulerOptions): (() => Promise<void>) => {
  const now = options.now ?? Date.now
  let cachedMtime = -1
  let reminders: Array<Reminder> = []
  let busy = false
  const tick = async () => {
    if (busy) return
    busy = true
    try {
      let mtime = 0
      try {
        mtime = statSync(remindersPath(options.stateDir)).mtimeMs
      } catch {
        mtime = 0
      }
      if (mtime !== cachedMtime) {
        cachedMtime = mtime
        reminders = readReminders(options.stateDir)
      }
      if (reminders.length === 0) return
      const fired = readFired(options.stateDir)
      const lastOf = new Map(fired.map((f) => [f.id, Date.parse(f.occurrence)]))
      const due = reminders.flatMap((r) => {
        const at = dueOccurrence(r, lastOf.get(r.id), now())
        return at === undefined ? [] : [{ reminder: r, at }]
      })
      if (due.length === 0) return
      const live = new Set(reminders.map((r) => r.id))
      const next = new Map(fired.filter((f) => live.has(f.id)).map((f) => [f.id, f]))
      for (const { reminder, at } of due) next.set(reminder.id, { id: reminder.id, occurrence: new Date(at).toISOString() })
      writeJsonAtomic(firedPath(options.stateDir), [...next.values()])
      for (const { reminder } of due) {
        await options.post(reminderMessage(reminder)).catch((error: unknown) => options.log.warn(`reminder ${reminder.id} could not be posted: ${error instanceof Error ? error.message : String(error)}`))
      }
    } finally {
      busy = false
    }
  }
  return tick
}

/** Posts the account's due reminders through `post` (its own conversation), looking every TICK_MS. */
export const startReminderScheduler = (options: SchedulerOptions): { stop(): void } => {
  const tick = reminderTicker(options)
  const timer = setInterval(() => void tick(), TICK_MS)
  timer.unref()
  return { stop: () => clearInterval(timer) }
}
