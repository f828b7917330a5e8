/**
 * Share images: a template page's QR code (PNG) and its 1200×630 OpenGraph card, drawn with satori (layout → SVG)
 * and resvg (SVG → PNG). The font is vendored (`assets/fonts/`, SIL OFL) so rendering needs nothing from the system.
 * resvg draws no colour-emoji font, so a template's emoji is Twemoji's SVG of it (`@twemoji/svg`, graphics CC-BY 4.0
 * by Twitter, Inc. and contributors); an emoji it does not have falls back to the name's first letter.
 */
import { Resvg } from "@resvg/resvg-js"
import { existsSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { createRequire } from "node:module"
import satori from "satori"
import type { Template } from "../domain/templates.ts"

const require = createRequire(import.meta.url)
const qrcode = require("qrcode") as {
  toBuffer(text: string, options: Record<string, unknown>): Promise<Buffer>
  toString(text: string, options: Record<string, unknown>): Promise<string>
}

const font = readFileSync(new URL("./assets/fonts/NotoSans-Regular.otf", import.meta.url))
const twemojiDir = dirname(require.resolve("@twemoji/svg/package.json"))

/**
 * Twemoji's file name of an emoji: its code points in hex joined by "-", without the U+FE0F variation selector unless
 * the emoji is a ZWJ sequence (Twemoji's own rule).
 */
export const twemojiFileName = (emoji: string): string => {
  const points = [...emoji].map((c) => c.codePointAt(0)!)
  const kept = points.includes(0x200d) ? points : points.filter((p) => p !== 0xfe0f)
  return `${kept.map((p) => p.toString(16)).join("-")}.svg`
}

/** The emoji as an SVG `data:` URL, or undefined when Twemoji has no picture for it. */
const emojiSvg = (emoji: string): string | undefined => {
  // A few ZWJ sequences are filed without their U+FE0F too.
  const file = [twemojiFileName(emoji.trim()), twemojiFileName(emoji.trim().replaceAll("\uFE0F", ""))]
    .map((name) => join(twemojiDir, name))
    .find((path) => existsSync(path))
  return file === undefined ? undefined : `data:image/svg+xml;base64,${readFileSync(file).toString("base64")}`
}

/** The QR code of a URL as a PNG: margin for scanners, medium error correction. */
export const qrPng = (url: string, size = 480): Promise<Buffer> =>
  qrcode.toBuffer(url, { type: "png", width: size, margin: 2, errorCorrectionLevel: "M" })

/** The QR code as an `data:` URL, for a page showing an invite it has just received. */
export const qrDataUrl = async (url: string): Promise<string> =>
  `data:image/png;base64,${(await qrPng(url, 320)).toString("base64")}`

type Node = { readonly type: string; readonly props: Record<string, unknown> }
const el = (type: string, style: Record<string, unknown>, children?: unknown, extra: Record<string, unknown> = {}): Node => ({
  type,
  props: { style, children, ...extra },
})

const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1).trimEnd()}…`)

export const ogSize = { width: 1200, height: 630 } as const

/** The share card of a template: name, description, a QR code of its page and the call to action. */
export const ogPng = async (template: Template, pageUrl: string): Promise<Buffer> => {
  const qrSvg = await qrcode.toString(pageUrl, { type: "svg", margin: 1, errorCorrectionLevel: "M", color: { dark: "#111827", light: "#ffffff" } })
  const initial = [...template.name][0]?.toUpperCase() ?? "A"
  const emoji = emojiSvg(template.emoji)
  const tree = el("div", {
    width: "100%",
    height: "100%",
    display: "flex",
    flexDirection: "row",
    alignItems: "center",
    background: "linear-gradient(135deg, #eef2ff 0%, #ffffff 55%, #ecfeff 100%)",
    padding: "64px",
    fontFamily: "Noto Sans",
    color: "#111827",
  }, [
    el("div", { display: "flex", flexDirection: "column", width: "680px", marginRight: "48px" }, [
      el("div", {
        display: "flex",
        width: "112px",
        height: "112px",
        borderRadius: "28px",
        background: emoji ? "#ffffff" : "#4338ca",
        color: "#ffffff",
        fontSize: "64px",
        alignItems: "center",
        justifyContent: "center",
        marginBottom: "32px",
        boxShadow: emoji ? "0 4px 16px rgba(17, 24, 39, 0.10)" : "none",
      }, emoji ? el("img", { width: "80px", height: "80px" }, undefined, { src: emoji, width: 80, height: 80 }) : initial),
      el("div", { fontSize: "72px", lineHeight: 1.1, marginBottom: "20px" }, clip(template.name, 40)),
      el("div", { fontSize: "34px", lineHeight: 1.35, color: "#374151", marginBottom: "36px" }, clip(template.description, 140)),
      el("div", { display: "flex", fontSize: "30px", color: "#4338ca" }, "Add it to your group chat · Convos"),
    ]),
    el("div", {
      display: "flex",
      flexDirection: "column",
      alignItems: "center",
      background: "#ffffff",
      borderRadius: "24px",
      padding: "24px",
      flexShrink: 0,
      boxShadow: "0 8px 24px rgba(17, 24, 39, 0.12)",
    }, [
      el("img", { width: "300px", height: "300px" }, undefined, {
        src: `data:image/svg+xml;base64,${Buffer.from(qrSvg).toString("base64")}`,
        width: 300,
        height: 300,
      }),
      el("div", { fontSize: "24px", color: "#6b7280", marginTop: "12px" }, "Scan to open"),
    ]),
  ])
  // satori takes React elements; this tree is that shape ({type, props}) without React.
  const svg = await satori(tree as unknown as Parameters<typeof satori>[0], {
    ...ogSize,
    fonts: [{ name: "Noto Sans", data: font, weight: 400, style: "normal" }],
  })
  return Buffer.from(new Resvg(svg, { fitTo: { mode: "width", value: ogSize.width } }).render().asPng())
}
