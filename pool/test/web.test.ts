import { existsSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { describe, expect, it } from "vitest"
import { seedTemplates } from "../src/domain/templates.ts"
import { escapeHtml, html } from "../src/web/html.ts"
import { availability, LaunchLimiter, sameOriginProblem } from "../src/web/launchPolicy.ts"
import { catalogPage, matches, templatePage } from "../src/web/pages.ts"
import { makeCatalog } from "../src/web/Templates.ts"
import { ogPng, twemojiFileName } from "../src/web/share.ts"
import { friendly } from "../src/web/WebRoutes.ts"

describe("html", () => {
  it("escapes every interpolated string, but not nested html", () => {
    const evil = `<script>alert("x")</script>' onload='x`
    expect(html`<p title="${evil}">${evil}</p>`.value).toBe(
      `<p title="${escapeHtml(evil)}">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onload=&#39;x</p>`,
    )
    expect(html`<ul>${["a<", "b"].map((s) => html`<li>${s}</li>`)}</ul>`.value).toBe("<ul><li>a&lt;</li><li>b</li></ul>")
  })

  it("a template whose text holds markup renders it as text on both pages", () => {
    const t = { ...seedTemplates[0]!, name: "Evil <img src=x>", description: `"><script>x</script>`, instructions: "<b>hi</b>" }
    const page = templatePage(t, { pageUrl: "https://a.example/a/x", imageUrl: "https://a.example/a/x/og.png" }).value
    const list = catalogPage(makeCatalog([t]), { query: "", category: undefined }).value
    for (const out of [page, list]) {
      expect(out).not.toContain("<img src=x>")
      expect(out).not.toContain("<script>x</script>")
      expect(out.match(/<script/g)).toEqual(["<script"]) // only the one external script tag
    }
    expect(page).toContain("&lt;b&gt;hi&lt;/b&gt;")
  })
})

describe("catalog filtering without JavaScript", () => {
  it("matches every word against name, description, category and skills, within a category", () => {
    const chef = seedTemplates.find((t) => t.slug === "chef")!
    expect(matches(chef, "Recipes shopping", undefined)).toBe(true)
    expect(matches(chef, "recipes", "travel")).toBe(false)
    expect(matches(chef, "food memory", "food")).toBe(true)
    expect(matches(chef, "chess", undefined)).toBe(false)
  })
})

describe("launch policy", () => {
  it("a client gets `limit` launches per window, then a wait that shrinks until the window resets", () => {
    const limiter = new LaunchLimiter(2, 60_000)
    expect(limiter.take("a", 0)).toEqual({ ok: true })
    expect(limiter.take("a", 1_000)).toEqual({ ok: true })
    expect(limiter.take("a", 10_000)).toEqual({ ok: false, retryAfterMs: 50_000 })
    expect(limiter.take("b", 10_000)).toEqual({ ok: true })
    expect(limiter.take("a", 60_000)).toEqual({ ok: true })
    limiter.refund("a")
    expect(limiter.take("a", 60_001)).toEqual({ ok: true })
  })

  it("only a JSON POST from the site's own origin may launch", () => {
    const own = ["https://agents.example"]
    const json = { "content-type": "application/json" }
    expect(sameOriginProblem({ ...json, origin: "https://agents.example", "sec-fetch-site": "same-origin" }, own)).toBeNull()
    expect(sameOriginProblem({ ...json, origin: "https://evil.example" }, own)).toMatch(/own page/)
    expect(sameOriginProblem({ ...json }, own)).toMatch(/own page/)
    expect(sameOriginProblem({ ...json, origin: "https://agents.example", "sec-fetch-site": "cross-site" }, own)).toMatch(/own page/)
    expect(sameOriginProblem({ "content-type": "text/plain", origin: "https://agents.example" }, own)).toMatch(/JSON/)
  })

  it("availability: agents ready now, else when the next one will be (measured warm-up, a new host when none has room)", () => {
    const host = { status: "ready", slot_ready_ms: 4_000, start_ms: 25_000, capacity: 8, slots: 8 }
    expect(availability({ idle: 2, starting: 0, hosts: [host] })).toMatchObject({ ready: 2, message: "2 agents ready now" })
    expect(availability({ idle: 0, starting: 1, hosts: [host] })).toMatchObject({ ready: 0, etaSeconds: 4 })
    expect(availability({ idle: 0, starting: 0, hosts: [host] })).toMatchObject({ etaSeconds: 29 })
    expect(availability({ idle: 0, starting: 0, hosts: [{ ...host, slots: 3 }] }).message).toBe(
      "No agent is ready this second: the next one will be ready in about 4 s",
    )
  })

  it("claim validation errors are rephrased for a person pasting a link", () => {
    expect(friendly("joinUrl is a production invite; this pool runs on the dev network")).toMatch(/^That link is for Convos production/)
    expect(friendly("joinUrl must be a Convos invite URL")).toMatch(/doesn't look like a Convos invite link/)
    expect(friendly("agentName must not be empty")).toBe("agentName must not be empty")
  })
})

describe("share image emoji", () => {
  it("names Twemoji's file by code points, dropping U+FE0F except in ZWJ sequences", () => {
    expect(twemojiFileName("🧳")).toBe("1f9f3.svg")
    expect(twemojiFileName("🏋️")).toBe("1f3cb.svg")
    expect(twemojiFileName("🧑‍🍳")).toBe("1f9d1-200d-1f373.svg")
    expect(twemojiFileName("🏳️‍🌈")).toBe("1f3f3-fe0f-200d-1f308.svg")
  })

  it("has a picture for every seeded template's emoji", () => {
    const twemojiDir = dirname(createRequire(import.meta.url).resolve("@twemoji/svg/package.json"))
    expect(seedTemplates.filter((t) => !existsSync(join(twemojiDir, twemojiFileName(t.emoji)))).map((t) => `${t.slug} ${t.emoji}`)).toEqual([])
  })

  it("draws the emoji on the card, and the first letter when Twemoji has no picture for it", async () => {
    const template = seedTemplates[0]!
    const [withEmoji, withLetter] = await Promise.all([ogPng(template, "https://a.example/a/x"), ogPng({ ...template, emoji: "x" }, "https://a.example/a/x")])
    expect(withEmoji.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
    expect(withEmoji.equals(withLetter)).toBe(false)
  }, 30_000)
})
