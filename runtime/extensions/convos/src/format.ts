/** Reply formatting for Convos: plain text (Convos renders no markdown), chunked, reply reference on the first chunk. */

export const TEXT_CHUNK_LIMIT = 4_000

/** Turns a markdown table into plain lines: "a: 1, b: 2" per row, using the header as labels. */
const tableToLines = (block: string): string => {
  const rows = block
    .trim()
    .split("\n")
    .map((line) =>
      line
        .trim()
        .replace(/^\|/, "")
        .replace(/\|$/, "")
        .split("|")
        .map((cell) => cell.trim()),
    )
    .filter((cells) => !cells.every((cell) => /^:?-{2,}:?$/.test(cell) || cell === ""))
  const [header, ...body] = rows
  if (!header) return ""
  if (body.length === 0) return header.join(", ")
  return body.map((cells) => cells.map((cell, i) => (header[i] ? `${header[i]}: ${cell}` : cell)).join(", ")).join("\n")
}

const TABLE = /(?:^|\n)((?:[ \t]*\|.*\|[ \t]*\n?){2,})/g

/** Strips markdown syntax while keeping the words, link targets and code. */
export const stripMarkdown = (input: string): string => {
  let text = input.replace(/\r\n/g, "\n")
  // Code fences: keep the code, drop the fence lines.
  text = text.replace(/```[^\n]*\n([\s\S]*?)```/g, (_m, code: string) => code.replace(/\n$/, ""))
  text = text.replace(TABLE, (match, table: string) => `${match.startsWith("\n") ? "\n" : ""}${tableToLines(table)}\n`)
  text = text.replace(/!\[([^\]]*)\]\(([^)\s]+)[^)]*\)/g, (_m, alt: string, url: string) => (alt ? `${alt} (${url})` : url))
  text = text.replace(/\[([^\]]+)\]\(([^)\s]+)[^)]*\)/g, (_m, label: string, url: string) =>
    label === url ? url : `${label} (${url})`,
  )
  text = text.replace(/^[ \t]{0,3}#{1,6}[ \t]+(.*?)[ \t]*#*[ \t]*$/gm, "$1")
  text = text.replace(/^[ \t]{0,3}>[ \t]?/gm, "")
  text = text.replace(/^[ \t]*([-*_])(?:[ \t]*\1){2,}[ \t]*$/gm, "")
  text = text.replace(/^([ \t]*)[*+][ \t]+/gm, "$1- ")
  text = text.replace(/(\*\*|__)(?=\S)([\s\S]*?\S)\1/g, "$2")
  text = text.replace(/(^|[^\w*])\*(?=\S)([^*\n]*?\S)\*(?!\w)/g, "$1$2")
  text = text.replace(/(^|[^\w_])_(?=\S)([^_\n]*?\S)_(?!\w)/g, "$1$2")
  text = text.replace(/~~(?=\S)([\s\S]*?\S)~~/g, "$1")
  text = text.replace(/`([^`\n]+)`/g, "$1")
  return text.replace(/\n{3,}/g, "\n\n").trim()
}

/**
 * Splits text into chunks of at most `limit` characters, preferring paragraph, then line, then word boundaries.
 * Never splits a surrogate pair.
 */
export const chunkText = (text: string, limit: number = TEXT_CHUNK_LIMIT): Array<string> => {
  if (limit < 1) throw new Error(`chunk limit must be positive, got ${limit}`)
  const chunks: Array<string> = []
  let rest = text.trim()
  while (rest.length > limit) {
    const window = rest.slice(0, limit + 1)
    let cut = -1
    for (const separator of ["\n\n", "\n", " "]) {
      const at = window.lastIndexOf(separator)
      if (at > limit / 2) {
        cut = at
        break
      }
    }
    if (cut <= 0) {
      cut = limit
      const code = rest.charCodeAt(cut - 1)
      if (code >= 0xd800 && code <= 0xdbff) cut -= 1
    }
    chunks.push(rest.slice(0, cut).trimEnd())
    rest = rest.slice(cut).trimStart()
  }
  if (rest.length > 0) chunks.push(rest)
  return chunks
}

export interface PlannedSend {
  readonly text: string
  readonly replyTo?: string
}

/** The messages to send for one reply: markdown stripped, chunked, the reply reference only on the first chunk. */
export const planReply = (text: string, replyTo?: string, limit: number = TEXT_CHUNK_LIMIT): Array<PlannedSend> =>
  chunkText(stripMarkdown(text), limit).map((chunk, index) =>
    index === 0 && replyTo !== undefined ? { text: chunk, replyTo } : { text: chunk },
  )
