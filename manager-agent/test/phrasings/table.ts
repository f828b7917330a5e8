/**
 * The phrasing table's shape, its conversation contexts and its scoring. A row says which context it assumes, the
 * text as someone would type it, and what the manager should understand.
 *
 * Compared fields: the kind always; then only the fields a row names:
 * - spawn: `role` (one or several acceptable roles, compared without case, articles or a trailing "bot"/"agent"),
 *   `name` (only when the text gives one), `template` (the catalog slug);
 * - remove / rename / instruct: `agent`, compared the way the bot resolves a reference (no case, no article, no
 *   trailing "bot"/"agent"); rename: `newName` without case; instruct: `instructions` must contain the given words;
 * - join: `inviteUrl` exactly.
 */
import type { Intent, IntentKind, MessageContext } from "../../src/intent/Intent.ts"
import { stripArticle } from "../../src/intent/lexicon.ts"

const base = { managerName: "Manager" } as const

/** The contexts rows assume. Agents "here" are what the bot passes as `knownAgents` for that conversation. */
export const contexts = {
  /** A DM with the manager (the bot passes no agents in a DM). */
  dm: { ...base, conversation: "dm" },
  /** A group with no agents yet. */
  group: { ...base, conversation: "group", knownAgents: [] },
  /** A group where Remy (a chef), Trip Planner and Study Buddy were spawned. */
  crew: { ...base, conversation: "group", knownAgents: ["Remy", "Trip Planner", "Study Buddy"] },
  /** A group whose manager is called Otto, with the agents Chef and Luna. */
  otto: { managerName: "Otto", conversation: "group", knownAgents: ["Chef", "Luna"] },
  /** A group message written as a reply to one of the manager's messages; Remy is here. */
  reply: { ...base, conversation: "group", repliesToManager: true, knownAgents: ["Remy"] },
} as const satisfies Record<string, MessageContext>
export type ContextKey = keyof typeof contexts

export type Expected =
  | { readonly kind: "spawn"; readonly role?: string | ReadonlyArray<string>; readonly name?: string; readonly template?: string }
  | { readonly kind: "remove"; readonly agent: string }
  | { readonly kind: "rename"; readonly agent: string; readonly newName: string }
  | { readonly kind: "instruct"; readonly agent: string; readonly instructions?: string }
  | { readonly kind: "join"; readonly inviteUrl: string }
  | { readonly kind: "list" | "templates" | "help" | "none" }

export type Row = readonly [ContextKey, string, Expected]

/** Names compared as the bot's exact match does: no case, article, punctuation or trailing "bot"/"agent". */
const simplify = (text: string) => stripArticle(text.toLowerCase()).replace(/\s+(?:agent|bot)$/, "").replace(/[^\p{L}\p{N}]+/gu, " ").trim()

/** Why `actual` does not meet `expected`, or undefined when it does. */
export const mismatch = (expected: Expected, actual: Intent): string | undefined => {
  if (actual.kind !== expected.kind) return `kind ${actual.kind}`
  switch (expected.kind) {
    case "spawn": {
      if (actual.kind !== "spawn") return undefined
      const roles = expected.role === undefined ? [] : typeof expected.role === "string" ? [expected.role] : expected.role
      if (roles.length > 0 && !roles.some((role) => simplify(role) === simplify(actual.role))) return `role ${JSON.stringify(actual.role)}`
      if (expected.name !== undefined && simplify(expected.name) !== simplify(actual.name)) return `name ${JSON.stringify(actual.name)}`
      if (expected.template !== undefined && expected.template !== actual.template) return `template ${String(actual.template)}`
      return undefined
    }
    case "remove":
    case "rename":
    case "instruct": {
      if (!("agent" in actual)) return undefined
      if (simplify(expected.agent) !== simplify(actual.agent)) return `agent ${JSON.stringify(actual.agent)}`
      if (expected.kind === "rename" && actual.kind === "rename" && simplify(expected.newName) !== simplify(actual.newName)) {
        return `newName ${JSON.stringify(actual.newName)}`
      }
      if (
        expected.kind === "instruct" &&
        actual.kind === "instruct" &&
        expected.instructions !== undefined &&
        !actual.instructions.toLowerCase().includes(expected.instructions.toLowerCase())
      ) {
        return `instructions ${JSON.stringify(actual.instructions)}`
      }
      return undefined
    }
    case "join":
      return actual.kind === "join" && actual.inviteUrl !== expected.inviteUrl ? `url ${actual.inviteUrl}` : undefined
    default:
      return undefined
  }
}

/** Kinds that change something (an agent, a membership): understanding one that was not meant is the costly error. */
export const ACTIONS: ReadonlySet<IntentKind> = new Set(["spawn", "remove", "rename", "instruct", "join"])

export interface Score {
  readonly total: number
  readonly correct: number
  readonly byKind: ReadonlyMap<IntentKind, { readonly total: number; readonly correct: number }>
  /** An action understood where the row meant another kind (chatter turned into a spawn, …). */
  readonly falseActions: ReadonlyArray<string>
  /** The right action on the wrong agent (or with the wrong new name): as costly as a false action. */
  readonly wrongTargets: ReadonlyArray<string>
  /** Actions understood, and how many of them were the row's action. */
  readonly actionsPredicted: number
  readonly failures: ReadonlyArray<string>
}

export const score = (rows: ReadonlyArray<Row>, parse: (text: string, ctx: MessageContext) => Intent): Score => {
  const byKind = new Map<IntentKind, { total: number; correct: number }>()
  const falseActions: Array<string> = []
  const wrongTargets: Array<string> = []
  const failures: Array<string> = []
  let correct = 0
  let actionsPredicted = 0
  for (const [ctx, text, expected] of rows) {
    const actual = parse(text, contexts[ctx])
    const problem = mismatch(expected, actual)
    const bucket = byKind.get(expected.kind) ?? { total: 0, correct: 0 }
    bucket.total++
    if (problem === undefined) {
      bucket.correct++
      correct++
    } else {
      failures.push(`[${ctx}] ${JSON.stringify(text)}: expected ${expected.kind}, got ${problem}`)
    }
    byKind.set(expected.kind, bucket)
    if (ACTIONS.has(actual.kind)) {
      actionsPredicted++
      if (actual.kind !== expected.kind) falseActions.push(`[${ctx}] ${JSON.stringify(text)} → ${JSON.stringify(actual)}`)
      else if (problem !== undefined && /^(?:agent|newName|url)/.test(problem)) wrongTargets.push(`[${ctx}] ${JSON.stringify(text)} → ${problem}`)
    }
  }
  return { total: rows.length, correct, byKind, falseActions, wrongTargets, actionsPredicted, failures }
}

const pct = (n: number, d: number) => (d === 0 ? "-" : `${((100 * n) / d).toFixed(1)} %`)

/** `showRows: false` prints figures only (the held-out set is not for tuning). */
export const report = (title: string, s: Score, showRows: boolean): string =>
  [
    `${title}: ${s.correct}/${s.total} = ${pct(s.correct, s.total)}`,
    ...[...s.byKind.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([kind, k]) => `  ${kind.padEnd(10)} ${String(k.correct).padStart(3)}/${String(k.total).padEnd(3)} ${pct(k.correct, k.total)}`),
    `  actions understood: ${s.actionsPredicted}, false actions: ${s.falseActions.length}, wrong targets: ${s.wrongTargets.length}`,
    ...(showRows ? s.falseActions.map((line) => `    false action ${line}`) : []),
    ...(showRows ? s.wrongTargets.map((line) => `    wrong target ${line}`) : []),
    ...(showRows ? s.failures.map((line) => `    miss ${line}`) : []),
  ].join("\n")
