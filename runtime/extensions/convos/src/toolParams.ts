/** Reading untyped JSON (a tool call's raw parameters, a config subtree), and the result shape of every agent tool. */

/** The fields of a JSON object; {} for anything else (null, an array, a primitive), so a missing field reads undefined. */
export const record = (value: unknown): Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {}

export interface TextOptions {
  /** The longest value accepted, counted before trimming; no limit when absent. */
  readonly max?: number
  /** Hand back the value trimmed (otherwise as given). */
  readonly trim?: boolean
  /** Accept a blank string, for a caller that refuses it with its own message. */
  readonly allowBlank?: boolean
}

/** A string parameter that must be there: "<name> is required" when missing, not a string or blank. */
export const requiredText = (params: Record<string, unknown>, name: string, options: TextOptions = {}): string => {
  const value = params[name]
  if (typeof value !== "string" || (!options.allowBlank && value.trim() === "")) throw new Error(`${name} is required`)
  if (options.max !== undefined && value.length > options.max) throw new Error(`${name} is longer than ${options.max} characters`)
  return options.trim ? value.trim() : value
}

/** A tool's answer: the text the model reads, and details for the transcript. */
export const textResult = (text: string, details: Record<string, unknown>) => ({ content: [{ type: "text" as const, text }], details })
