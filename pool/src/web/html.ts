/**
 * HTML built from tagged templates: every interpolated value is escaped unless it is already `Html` (the output of
 * another `html` template), so user and template text can never become markup.
 */
export class Html {
  constructor(readonly value: string) {}
  toString() {
    return this.value
  }
}

const entities: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }

export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => entities[c]!)

type Part = Html | string | number | null | undefined | false | ReadonlyArray<Part>

const render = (part: Part): string =>
  part === null || part === undefined || part === false
    ? ""
    : part instanceof Html
    ? part.value
    : Array.isArray(part)
    ? part.map(render).join("")
    : escapeHtml(String(part))

export const html = (strings: TemplateStringsArray, ...parts: ReadonlyArray<Part>): Html =>
  new Html(strings.reduce((out, s, i) => out + s + (i < parts.length ? render(parts[i] as Part) : ""), ""))
