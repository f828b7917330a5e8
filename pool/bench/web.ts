/**
 * bench:web — prints p50/p99 latency of the public page as a browser fetches it (one request at a time over a kept-
 * alive connection): `GET /` and `GET /a/:slug` (served from memory after their first render), and a share image
 * (`/a/:slug/og.png`) on its first render per template and then cached. Target: p50 ≤ 10 ms for the pages.
 * Uses the local PostgreSQL (TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres) in a scratch
 * database it drops afterwards; no agent is started.
 */
import { seedTemplates } from "../src/domain/templates.ts"
import { startWebServer } from "../test/support/webServer.ts"

const percentile = (sorted: ReadonlyArray<number>, p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!

const timeOne = async (url: string) => {
  const started = performance.now()
  const response = await fetch(url)
  await response.arrayBuffer()
  if (!response.ok) throw new Error(`${url}: ${response.status}`)
  return performance.now() - started
}

const report = (label: string, samples: ReadonlyArray<number>) => {
  const sorted = [...samples].sort((a, b) => a - b)
  const ms = (n: number) => `${n.toFixed(2)} ms`
  console.log(`${label.padEnd(34)} n=${String(sorted.length).padStart(4)}  p50 ${ms(percentile(sorted, 0.5)).padStart(10)}  p99 ${ms(percentile(sorted, 0.99)).padStart(10)}`)
}

const server = await startWebServer()
try {
  const pages = [["GET /", "/"], ["GET /a/:slug", "/a/trip-planner"]] as const
  for (const [label, path] of pages) {
    const first = await timeOne(`${server.base}${path}`)
    console.log(`${`${label} (first render)`.padEnd(34)} ${first.toFixed(2)} ms`)
    for (let i = 0; i < 50; i++) await timeOne(`${server.base}${path}`) // warm-up
    const samples: Array<number> = []
    for (let i = 0; i < 1_000; i++) samples.push(await timeOne(`${server.base}${path}`))
    report(label, samples)
  }
  const firsts: Array<number> = []
  for (const t of seedTemplates.slice(0, 12)) firsts.push(await timeOne(`${server.base}/a/${t.slug}/og.png`))
  report("GET /a/:slug/og.png (first render)", firsts)
  const cached: Array<number> = []
  for (let i = 0; i < 300; i++) cached.push(await timeOne(`${server.base}/a/${seedTemplates[i % 12]!.slug}/og.png`))
  report("GET /a/:slug/og.png (cached)", cached)
} finally {
  await server.stop()
}
