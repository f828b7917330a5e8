/**
 * The official Convos reference client (`@xmtp/convos-cli`), driven as a user would, each person with a home of
 * their own. `--env local` has no API URL override: it dials localhost:5556, so the fake node must listen there.
 */
import { execFile } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"

const require = createRequire(import.meta.url)
// The package exports no package.json: find its root from the main entry (`dist/index.js`).
const bin = join(require.resolve("@xmtp/convos-cli"), "..", "..", "bin", "run.js")

export const CLI_PORT = 5556

export interface CliUser {
  readonly home: string
  /** Runs `convos <args> --env local --home <home> --json` and returns its parsed JSON output. */
  json<T = unknown>(...args: ReadonlyArray<string>): Promise<T>
  /** Runs a command and returns its raw stdout. */
  run(...args: ReadonlyArray<string>): Promise<string>
}

export const cliUser = (name: string): CliUser => {
  const home = mkdtempSync(join(tmpdir(), `convos-cli-${name}-`))
  const run = (...args: ReadonlyArray<string>) =>
    new Promise<string>((resolve, reject) => {
      // Node 24 (this process), never the system node the bin's shebang would find.
      execFile(process.execPath, [bin, ...args, "--env", "local", "--home", home], { timeout: 90_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`convos ${args[0]} ${args[1] ?? ""} failed: ${stderr.replace(/^.*sqlcipherCodecAttach.*$\n?/gm, "").slice(-2_000)}`))
        else resolve(stdout)
      })
    })
  return {
    home,
    run,
    json: async <T>(...args: ReadonlyArray<string>) => {
      const out = await run(...args, "--json")
      // Log lines may precede the JSON document.
      const start = out.search(/^[[{]/m)
      return JSON.parse(out.slice(start)) as T
    },
  }
}
