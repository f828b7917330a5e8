/**
 * Splits a SQL script into statements on top-level `;`. The Effect 4 pg driver speaks only the extended protocol,
 * which rejects several commands in one prepared statement, so migrations are sent one statement at a time.
 * Semicolons inside '…' strings, "…" identifiers, $tag$…$tag$ bodies, -- and /* … *\/ comments do not split.
 */
export const splitStatements = (script: string): Array<string> => {
  const statements: Array<string> = []
  let current = ""
  let i = 0
  const push = () => {
    const text = current.trim()
    if (text.replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, "").trim() !== "") statements.push(text)
    current = ""
  }
  while (i < script.length) {
    const ch = script[i]!
    const rest = script.slice(i)
    if (ch === "'" || ch === '"') {
      let j = i + 1
      while (j < script.length) {
        if (script[j] === ch) {
          if (script[j + 1] === ch) j += 2 // doubled quote escapes itself
          else break
        } else j++
      }
      current += script.slice(i, j + 1)
      i = j + 1
    } else if (rest.startsWith("--")) {
      const end = script.indexOf("\n", i)
      const stop = end === -1 ? script.length : end
      current += script.slice(i, stop)
      i = stop
    } else if (rest.startsWith("/*")) {
      const end = script.indexOf("*/", i + 2)
      const stop = end === -1 ? script.length : end + 2
      current += script.slice(i, stop)
      i = stop
    } else if (ch === "$") {
      const tag = /^\$[A-Za-z_]*\$/.exec(rest)?.[0]
      if (tag) {
        const end = script.indexOf(tag, i + tag.length)
        const stop = end === -1 ? script.length : end + tag.length
        current += script.slice(i, stop)
        i = stop
      } else {
        current += ch
        i++
      }
    } else if (ch === ";") {
      push()
      i++
    } else {
      current += ch
      i++
    }
  }
  push()
  return statements
}
