/**
 * The public web page in a real browser (Debian's Chromium, driven by playwright-core): the catalog, search and
 * filters, a template page's share metadata and QR code, launching an agent from the page, a bad link, the rate
 * limit, and no console errors anywhere. The pool underneath is real (PostgreSQL, the test host).
 */
import { Effect, Option } from "effect"
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { join } from "node:path"
import { type Browser, chromium, type Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Instances } from "../src/db/Instances.ts"
import { seedTemplates } from "../src/domain/templates.ts"
import { Pool } from "../src/Pool.ts"
import { slotDir } from "./support/poolHarness.ts"
import { startWebServer, type WebServer } from "./support/webServer.ts"

const require = createRequire(import.meta.url)
const { PNG } = require("pngjs") as { PNG: { sync: { read(data: Buffer): { width: number; height: number; data: Buffer } } } }
const jsQR = require("jsqr") as (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null

const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"

let server: WebServer
let browser: Browser
/** Console errors and failed requests of every page a test opened; each test asserts none. */
let problems: Array<string> = []

const open = async (path: string, viewport = { width: 1280, height: 900 }): Promise<Page> => {
  const page = await browser.newPage({ viewport })
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`)
  })
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`))
  await page.goto(`${server.base}${path}`)
  return page
}

const run = <A>(effect: Effect.Effect<A, unknown, Pool | Instances>) => server.runtime.runPromise(effect as Effect.Effect<A, unknown, Pool>)

const withPool = <A>(f: (pool: Pool["Service"]) => Effect.Effect<A>) => run(Effect.flatMap(Pool, f))
const idleCount = () => withPool((pool) => Effect.map(pool.counts, (c) => c.idle))

beforeAll(async () => {
  server = await startWebServer({ env: { WEB_LAUNCHES_PER_CLIENT: "2" } })
  await withPool((pool) => Effect.orDie(pool.replenish(3)))
  const deadline = Date.now() + 120_000
  while ((await idleCount()) < 3) {
    if (Date.now() > deadline) throw new Error("the pool did not warm 3 agents")
    await new Promise((r) => setTimeout(r, 100))
  }
  browser = await chromium.launch({ executablePath: chromiumPath })
}, 180_000)

afterAll(async () => {
  await browser?.close()
  await server?.stop()
})

const visibleSlugs = (page: Page) =>
  page.$$eval("#catalog .card", (cards) =>
    (cards as unknown as Array<{ hidden: boolean; dataset: Record<string, string> }>).filter((c) => !c.hidden).map((c) => c.dataset.slug))

describe("the catalog page", () => {
  it("renders every published template, featured first, and says how many agents are ready", async () => {
    problems = []
    const page = await open("/")
    const slugs = await visibleSlugs(page)
    expect(slugs).toHaveLength(seedTemplates.length)
    expect(new Set(slugs)).toEqual(new Set(seedTemplates.map((t) => t.slug)))
    const featured = seedTemplates.filter((t) => t.featured).map((t) => t.slug)
    expect(new Set(slugs.slice(0, featured.length))).toEqual(new Set(featured))
    // The script replaces the server's placeholder with the pool's live count.
    await page.waitForSelector("#availability[data-state='ready']")
    expect(await page.textContent("#availability")).toBe("3 agents ready now")
    await page.close()
    expect(problems).toEqual([])
  })

  it("search and a category filter narrow the list as you type, and the same filters work without JavaScript", async () => {
    problems = []
    const page = await open("/")
    await page.fill("#q", "budget")
    const found = await visibleSlugs(page)
    expect(found.length).toBeGreaterThan(0)
    expect(found.length).toBeLessThan(seedTemplates.length)
    expect(found).toContain("budget-buddy")
    expect(await page.textContent("#result-count")).toBe(`${found.length} agent${found.length === 1 ? "" : "s"}`)

    await page.fill("#q", "")
    await page.click(".chip[data-category='food']")
    const food = await visibleSlugs(page)
    expect(new Set(food)).toEqual(new Set(seedTemplates.filter((t) => t.category === "food").map((t) => t.slug)))
    expect(page.url()).toBe(`${server.base}/?category=food`)

    await page.fill("#q", "zzzz-nothing")
    expect(await visibleSlugs(page)).toEqual([])
    expect(await page.isVisible("#no-results")).toBe(true)
    await page.close()

    // Without JavaScript the server filters: the form's GET and the category links.
    const noJs = await browser.newPage({ javaScriptEnabled: false })
    await noJs.goto(`${server.base}/?category=kids&q=story`)
    expect(await visibleSlugs(noJs)).toEqual(["bedtime-stories"])
    await noJs.close()
    expect(problems).toEqual([])
  })
})

describe("a template page", () => {
  it("carries OpenGraph and Twitter metadata pointing at a 1200×630 share image, and its QR code opens the page", async () => {
    problems = []
    const page = await open("/a/trip-planner")
    const meta = (selector: string) => page.getAttribute(selector, "content")
    const pageUrl = `${server.base}/a/trip-planner`
    expect(await page.title()).toBe("Trip Planner: a Convos agent")
    expect(await meta("meta[property='og:title']")).toBe("🧳 Trip Planner")
    expect(await meta("meta[property='og:url']")).toBe(pageUrl)
    expect(await meta("meta[property='og:image']")).toBe(`${pageUrl}/og.png`)
    expect(await meta("meta[name='twitter:card']")).toBe("summary_large_image")
    expect(await meta("meta[property='og:description']")).toBe(seedTemplates.find((t) => t.slug === "trip-planner")!.description)
    // The instructions are there, collapsed.
    expect(await page.isVisible("details.instructions p")).toBe(false)
    await page.click("details.instructions summary")
    expect(await page.textContent("details.instructions p")).toContain("You are Trip Planner")
    await page.close()

    const og = await fetch(`${pageUrl}/og.png`)
    expect(og.headers.get("content-type")).toBe("image/png")
    const image = PNG.sync.read(Buffer.from(await og.arrayBuffer()))
    expect([image.width, image.height]).toEqual([1200, 630])
    const again = await fetch(`${pageUrl}/og.png`, { headers: { "if-none-match": og.headers.get("etag")! } })
    expect(again.status).toBe(304)

    const qr = PNG.sync.read(Buffer.from(await (await fetch(`${pageUrl}/qr.png`)).arrayBuffer()))
    const decoded = jsQR(new Uint8ClampedArray(qr.data), qr.width, qr.height)
    expect(decoded?.data).toBe(pageUrl)
    expect(problems).toEqual([])
  })

  it("a page that does not exist is an HTML 404; template text is escaped", async () => {
    const missing = await fetch(`${server.base}/a/no-such-agent`)
    expect(missing.status).toBe(404)
    expect(missing.headers.get("content-type")).toContain("text/html")
    const page = await fetch(`${server.base}/a/trip-planner`)
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'")
    expect(await page.text()).not.toMatch(/<script>(?!<\/script>)/)
  })
})

const launchFrom = async (page: Page, section: "#add" | "#start", joinUrl?: string) => {
  if (joinUrl !== undefined) await page.fill(`${section} input[name=joinUrl]`, joinUrl)
  await page.click(`${section} button[type=submit]`)
  await page.waitForSelector(`${section} .outcome[data-state]:not([data-state=''])`)
  return (await page.textContent(`${section} .outcome`)) ?? ""
}

describe("launching an agent from a page", () => {
  it("a bad link shows what is wrong and claims nothing; a link of the other network says so", async () => {
    problems = []
    const before = await idleCount()
    const page = await open("/a/chef")
    expect(await launchFrom(page, "#add", "https://example.com/not-an-invite")).toMatch(/doesn't look like a Convos invite link/)
    expect(await launchFrom(page, "#add", "https://popup.convos.org/v2?i=abc")).toMatch(/Convos production, but these agents run on dev/)
    expect(await page.getAttribute("#add .outcome", "data-state")).toBe("error")
    await page.close()
    expect(await idleCount()).toBe(before)
    // The browser logs the 400 answers as failed resources; those are expected here.
    expect(problems.filter((p) => !/status of 400/.test(p))).toEqual([])
  })

  it("“Add to my conversation” claims an agent with the template's name and instructions for the pasted link, showing the steps", async () => {
    problems = []
    const page = await open("/a/chef")
    const joinUrl = "https://dev.convos.org/v2?i=web-test-invite-1"
    expect(await launchFrom(page, "#add", joinUrl)).toBe("Chef joined your conversation. Say hello!")
    const steps = await page.$$eval("#add .steps li", (items) => items.map((i) => i.textContent))
    expect(steps).toContain("Agent reserved")
    const chef = seedTemplates.find((t) => t.slug === "chef")!
    const row = await run(Effect.gen(function*() {
      const instances = yield* Instances
      return yield* instances.findLiveByJoinUrl(joinUrl)
    }))
    expect(Option.getOrUndefined(row as Option.Option<unknown>)).toMatchObject({ status: "claimed", agent_name: "Chef", instructions: chef.instructions, join_url: joinUrl })
    // The template's skill tags reached the agent's slot with its provision (they decide its tools).
    const instanceId = Option.getOrThrow(row as Option.Option<{ id: string }>).id
    const binding = JSON.parse(readFileSync(join(slotDir(server.dataDir, instanceId)!, "binding.json"), "utf8")) as { skills: unknown }
    expect(chef.skills.length).toBeGreaterThan(0)
    expect(binding.skills).toEqual(chef.skills)
    await page.close()
    expect(problems).toEqual([])
  })

  it("“Start a new conversation” shows the agent's invite link and its QR code", async () => {
    problems = []
    const page = await open("/a/trivia-host")
    expect(await launchFrom(page, "#start")).toMatch(/^Trivia Host started a conversation/)
    const link = await page.getAttribute("#start .outcome a.invite-link", "href")
    expect(link).toMatch(/^https:\/\/dev\.convos\.org\/v2\?i=/)
    const qrSrc = await page.getAttribute("#start .outcome img", "src")
    const qr = PNG.sync.read(Buffer.from(qrSrc!.replace(/^data:image\/png;base64,/, ""), "base64"))
    expect(jsQR(new Uint8ClampedArray(qr.data), qr.width, qr.height)?.data).toBe(link)
    await page.close()
    expect(problems).toEqual([])
  })

  it("a client over its launch limit gets a clear message and no agent", async () => {
    problems = []
    const before = await idleCount()
    const page = await open("/a/meal-planner")
    const message = await launchFrom(page, "#add", "https://dev.convos.org/v2?i=web-test-invite-3")
    expect(message).toMatch(/^You have added several agents already\. Please try again in/)
    await page.close()
    expect(await idleCount()).toBe(before)
    expect(problems.filter((p) => !/status of 429/.test(p))).toEqual([])
  })

  it("a launch from another site is refused (same-origin check)", async () => {
    const response = await fetch(`${server.base}/a/chef/launch`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: "https://evil.example" },
      body: JSON.stringify({ joinUrl: "https://dev.convos.org/v2?i=x" }),
    })
    expect(response.status).toBe(403)
    const form = await fetch(`${server.base}/a/chef/launch`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: server.base },
      body: "joinUrl=https://dev.convos.org/v2?i=x",
    })
    expect(form.status).toBe(403)
  })
})
