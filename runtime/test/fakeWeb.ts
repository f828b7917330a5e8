/**
 * A fake "public" web site and an "internal" service, both on 127.0.0.1, for the web-reading tests: the tests allow the
 * site's exact origin (as if it were on the internet) and expect every call to the internal one to be refused, so it
 * records each hit it gets. The site serves a ferry timetable page and redirects: to the internal service
 * (`/to-internal`), the cloud metadata address (`/to-metadata`), a name resolving to loopback (`/to-rebind`), itself
 * (`/hop` → `/timetable`) and forever (`/loop`).
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"

export const TIMETABLE_TEXT = "Ferry 1 departs 09:00 from Cais do Sodré."

const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return (server.address() as AddressInfo).port
}

export const startFakeWeb = async () => {
  const internalHits: Array<string> = []
  const internal = createServer((req, res) => {
    internalHits.push(req.url ?? "")
    res.end("internal secrets")
  })
  const internalPort = await listen(internal)
  const internalUrl = `http://127.0.0.1:${internalPort}/api/pool/instances`
  const site = createServer((req, res) => {
    if (req.url === "/to-internal") return res.writeHead(302, { location: internalUrl }).end()
    if (req.url === "/to-metadata") return res.writeHead(301, { location: "http://169.254.169.254/latest/meta-data/" }).end()
    if (req.url === "/to-rebind") return res.writeHead(302, { location: `http://rebind.example:${internalPort}/` }).end()
    if (req.url === "/hop") return res.writeHead(302, { location: "/timetable" }).end()
    if (req.url === "/loop") return res.writeHead(302, { location: "/loop" }).end()
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(`<html><head><title>Lisbon ferries</title></head><body><p>${TIMETABLE_TEXT}</p></body></html>`)
  })
  const origin = `http://127.0.0.1:${await listen(site)}`
  return {
    /** The site's origin, to allow exactly. */
    origin,
    internalPort,
    internalUrl,
    internalHits,
    stop: async () => {
      await new Promise((resolve) => site.close(resolve))
      await new Promise((resolve) => internal.close(resolve))
    },
  }
}
