import type { LookupAddress } from "node:dns"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startFakeWeb, TIMETABLE_TEXT } from "../../../test/fakeWeb.ts"
import { checkUrl, FetchRefused, guardedGet, isPublicAddress, publicOnlyLookup } from "./netGuard.ts"

describe("isPublicAddress", () => {
  it("refuses loopback, private, link-local, metadata, CGNAT, multicast and their IPv6 forms", () => {
    for (const address of [
      "127.0.0.1", "127.9.9.9", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1",
      "0.0.0.0", "224.0.0.1", "255.255.255.255", "198.18.0.1",
      "::1", "::", "fe80::1", "fd00::1", "fc00::2", "ff02::1",
      "::ffff:127.0.0.1", "::ffff:7f00:1", "::ffff:a9fe:a9fe", "64:ff9b::10.0.0.1", "2002:7f00:1::1", "[::1]", "not-an-ip",
    ]) expect([address, isPublicAddress(address)]).toEqual([address, false])
  })

  it("lets public addresses of both families through", () => {
    for (const address of ["93.184.216.34", "8.8.8.8", "172.32.0.1", "2606:4700::1111", "::ffff:8.8.8.8"]) expect([address, isPublicAddress(address)]).toEqual([address, true])
  })
})

describe("checkUrl", () => {
  const none = new Set<string>()
  it("refuses other schemes, credentials, private literals (any spelling) and private names before connecting", () => {
    for (const url of [
      "file:///etc/passwd", "ftp://example.com/", "http://user:pw@example.com/", "http://127.0.0.1:4100/api", "http://2130706433/", "http://0x7f.1/",
      "http://[::1]:8080/", "http://169.254.169.254/latest/meta-data/", "http://localhost:3000/", "http://metadata.google.internal/", "http://printer.local/",
      "http://intranet/", "not a url",
    ]) expect(() => checkUrl(url, none), url).toThrow(FetchRefused)
  })

  it("passes public URLs, and an allowed origin only on its exact port", () => {
    expect(checkUrl("https://example.com/a?b=1", none).hostname).toBe("example.com")
    const allow = new Set(["http://127.0.0.1:4567"])
    expect(checkUrl("http://127.0.0.1:4567/page", allow).port).toBe("4567")
    expect(() => checkUrl("http://127.0.0.1:4568/page", allow)).toThrow(FetchRefused)
    expect(() => checkUrl("https://127.0.0.1:4567/page", allow)).toThrow(FetchRefused)
  })
})

/** A resolver answering from a table, as DNS would. */
const fakeDns = (table: Record<string, Array<string>>) =>
  ((hostname: string, _options: unknown, callback: (error: Error | null, addresses: Array<LookupAddress>) => void) => {
    const addresses = table[hostname]
    if (!addresses) return callback(Object.assign(new Error(`ENOTFOUND ${hostname}`), { code: "ENOTFOUND" }), [])
    callback(null, addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 })))
  }) as unknown as typeof import("node:dns").lookup

describe("publicOnlyLookup", () => {
  const lookup = publicOnlyLookup(fakeDns({ "rebind.example": ["93.184.216.34", "127.0.0.1"], "good.example": ["93.184.216.34"] }))
  const ask = (host: string) =>
    new Promise<{ error: Error | null; address: unknown }>((resolve) => lookup(host, { all: false }, (error, address) => resolve({ error, address })))

  it("refuses a name with any non-public address, and hands a public one through", async () => {
    expect((await ask("rebind.example")).error).toBeInstanceOf(FetchRefused)
    expect(await ask("good.example")).toEqual({ error: null, address: "93.184.216.34" })
  })
})

describe("guardedGet", () => {
  let web: Awaited<ReturnType<typeof startFakeWeb>>
  beforeAll(async () => {
    web = await startFakeWeb()
  })
  afterAll(() => web.stop())

  const options = () => ({ allowOrigins: new Set([web.origin]), lookup: publicOnlyLookup(fakeDns({ "rebind.example": ["127.0.0.1"] })) })

  it("reads the allowed server, following a redirect on it", async () => {
    const page = await guardedGet(`${web.origin}/hop`, options())
    expect(page).toMatchObject({ finalUrl: `${web.origin}/timetable`, status: 200, contentType: "text/html; charset=utf-8" })
    expect(page.body.toString()).toContain(TIMETABLE_TEXT)
  })

  it("refuses every other loopback port, directly and through redirects to it, to metadata and to a name resolving to loopback", async () => {
    await expect(guardedGet(web.internalUrl, options())).rejects.toBeInstanceOf(FetchRefused)
    await expect(guardedGet(`${web.origin}/to-internal`, options())).rejects.toBeInstanceOf(FetchRefused)
    await expect(guardedGet(`${web.origin}/to-metadata`, options())).rejects.toBeInstanceOf(FetchRefused)
    await expect(guardedGet(`${web.origin}/to-rebind`, options())).rejects.toBeInstanceOf(FetchRefused)
    await expect(guardedGet(`http://rebind.example:${web.internalPort}/`, options())).rejects.toBeInstanceOf(FetchRefused)
    expect(web.internalHits).toEqual([])
  })

  it("stops a redirect loop", async () => {
    await expect(guardedGet(`${web.origin}/loop`, options())).rejects.toThrow("too many redirects")
  })
})
