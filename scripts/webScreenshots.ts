/**
 * `npm run screenshots:web`: screenshots of the public page for the README, at phone and desktop widths, into
 * docs/screenshots/ (the catalog, a template page, and the share image as served). Needs PostgreSQL and Chromium
 * (CHROMIUM_PATH, default /usr/bin/chromium); emoji need a colour-emoji font on the machine (fonts-noto-color-emoji).
 */
import { Effect } from "effect"
import { mkdirSync, writeFileSync } from "node:fs"
import { chromium } from "playwright-core"
import { Pool } from "../pool/src/Pool.ts"
import { startWebServer } from "../pool/test/support/webServer.ts"

const out = new URL("../docs/screenshots/", import.meta.url)
mkdirSync(out, { recursive: true })

// Share links as a deployment behind a domain would show them.
const server = await startWebServer({ env: { PUBLIC_URL: "https://agents.example.com" } })
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium" })
try {
  // Two warm agents, so the pages say "2 agents ready now" as a running pool would.
  await server.runtime.runPromise(Effect.gen(function*() {
    const pool = yield* Pool
    yield* Effect.orDie(pool.replenish(2))
    while ((yield* pool.counts).idle < 2) yield* Effect.sleep("100 millis")
  }))
  const sizes = { desktop: { width: 1280, height: 900 }, phone: { width: 390, height: 844 } } as const
  for (const [name, viewport] of Object.entries(sizes)) {
    const page = await browser.newPage({ viewport, deviceScaleFactor: name === "phone" ? 2 : 1 })
    await page.goto(`${server.base}/`)
    await page.waitForSelector("#availability[data-state='ready']")
    await page.screenshot({ path: new URL(`catalog-${name}.png`, out).pathname })
    await page.goto(`${server.base}/a/trip-planner`)
    await page.waitForSelector("#availability[data-state='ready']")
    await page.screenshot({ path: new URL(`template-${name}.png`, out).pathname, fullPage: name === "desktop" })
    await page.close()
  }
  const og = await fetch(`${server.base}/a/trip-planner/og.png`)
  writeFileSync(new URL("share-image.png", out), Buffer.from(await og.arrayBuffer()))
  console.log(`screenshots in ${out.pathname}`)
} finally {
  await browser.close()
  await server.stop()
}
