/**
 * Share images: a template page's QR code (PNG) and its 1200×630 OpenGraph card, drawn with satori (layout → SVG)
 * and resvg (SVG → PNG). The font is vendored (`assets/fonts/`, SIL OFL) so rendering needs nothing from the system.
 * Emoji are left out of the card: no open colour-emoji font small enough to vendor renders in resvg.
 */
import { Resvg } from "@resvg/resvg-js"
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import satori from "satori"
import type { Template } from "../domain/templates.ts"

const require = createRequire(import.meta.url)
const qrcode = require("qrcode") as {
  toBuffer(text: string, options: Record<string, unknown>): Promise<Buffer>
  toString(text: string, options: Record<string, unknown>): Promise<string>
}

const font = readFileSync(new URL("./assets/fonts/NotoSans-Regular.otf", import.meta.url))

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
        background: "#4338ca",
        color: "#ffffff",
        fontSize: "64px",
        alignItems: "center",
        justifyContent: "center",
        marginBottom: "32px",
      }, initial),
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
  const svg = await satori(tree as never, {
    ...ogSize,
    fonts: [{ name: "Noto Sans", data: font, weight: 400, style: "normal" }],
  })
  return Buffer.from(new Resvg(svg, { fitTo: { mode: "width", value: ogSize.width } }).render().asPng())
}
