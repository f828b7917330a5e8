/**
 * Public-internet-only HTTP GET for the agents' web reading. On a host, loopback is where the pool API, every
 * supervisor's contract and tool ports and the other gateways listen, and a cloud host has its metadata service on a
 * link-local address: a model that can fetch any URL could read them. So every hop (the first request and each
 * redirect, followed here by hand) is checked, and the check is made on the address actually connected to: the
 * connection's own DNS lookup refuses a name resolving to a non-public address, so a name cannot pass a check and then
 * resolve elsewhere (DNS rebinding). An IP literal is checked before connecting.
 *
 * The only exception is an exact origin (scheme, host and port) in `allowOrigins`: the e2e tests' fake public web
 * server on 127.0.0.1:<port>. Every other port of the same address stays refused.
 */
import { lookup as dnsLookup, type LookupAddress } from "node:dns"
import { request as httpRequest, type IncomingMessage } from "node:http"
import { request as httpsRequest } from "node:https"
import { BlockList, isIP, type LookupFunction } from "node:net"

/** Address ranges that are not the public internet (IANA special-purpose registries, both families). */
const blocked = new BlockList()
for (const [network, prefix] of [
  ["0.0.0.0", 8], // "this network"
  ["10.0.0.0", 8],
  ["100.64.0.0", 10], // carrier-grade NAT
  ["127.0.0.0", 8],
  ["169.254.0.0", 16], // link-local, cloud metadata (169.254.169.254)
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
] as const) blocked.addSubnet(network, prefix, "ipv4")
for (const [network, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["64:ff9b:1::", 48],
  ["100::", 64],
  ["2001:db8::", 32],
  ["fc00::", 7], // unique local
  ["fe80::", 10], // link-local
  ["fec0::", 10],
  ["ff00::", 8], // multicast
] as const) blocked.addSubnet(network, prefix, "ipv6")

/** The IPv4 address an IPv6 address carries (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16), if any. */
const embeddedIpv4 = (address: string): string | undefined => {
  const lower = address.toLowerCase()
  const dotted = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower)
  if (dotted) return dotted[1]
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower)
  const sixToFour = /^2002:([0-9a-f]{1,4}):([0-9a-f]{1,4}):/.exec(lower)
  const pair = hex ?? sixToFour
  if (!pair) return undefined
  const high = parseInt(pair[1] ?? "0", 16)
  const low = parseInt(pair[2] ?? "0", 16)
  return [high >> 8, high & 255, low >> 8, low & 255].join(".")
}

/** Whether an IP address is on the public internet. Not an IP at all: false. */
export const isPublicAddress = (address: string): boolean => {
  const bare = address.replace(/^\[|\]$/g, "").replace(/%.*$/, "")
  const family = isIP(bare)
  if (family === 4) return !blocked.check(bare, "ipv4")
  if (family !== 6) return false
  const inner = embeddedIpv4(bare)
  if (inner !== undefined) return isPublicAddress(inner)
  return !blocked.check(bare, "ipv6")
}

export class FetchRefused extends Error {
  override readonly name = "FetchRefused"
}

/** The origin of a URL as the allowlist compares it: scheme, host and explicit-or-default port. */
export const originOf = (url: URL): string => `${url.protocol}//${url.hostname}:${url.port || (url.protocol === "https:" ? "443" : "80")}`

/** Refuses a URL that is not plain http(s) to a name or a public address, before any connection. */
export const checkUrl = (raw: string, allowOrigins: ReadonlySet<string>): URL => {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new FetchRefused(`not a valid URL: ${raw.slice(0, 200)}`)
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new FetchRefused("only http and https URLs can be read")
  if (url.username !== "" || url.password !== "") throw new FetchRefused("URLs with a user name or password are refused")
  if (allowOrigins.has(originOf(url))) return url
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase()
  if (isIP(host) !== 0) {
    if (!isPublicAddress(host)) throw new FetchRefused(`${host} is not a public internet address`)
    return url
  }
  // Names that are private by definition are refused without asking DNS.
  if (host === "localhost" || /\.(localhost|local|internal|home\.arpa|lan)$/.test(host) || !host.includes("."))
    throw new FetchRefused(`${host} is not a public internet host`)
  return url
}

/** A DNS lookup that only ever hands the connection public addresses. */
export const publicOnlyLookup =
  (resolve: typeof dnsLookup = dnsLookup): LookupFunction =>
  (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, "", 4)
      const list = addresses as unknown as Array<LookupAddress>
      const refused = list.find((entry) => !isPublicAddress(entry.address))
      if (refused || list.length === 0) {
        return callback(new FetchRefused(`${hostname} resolves to ${refused?.address ?? "nothing"}, which is not a public internet address`), "", 4)
      }
      if (options.all) return (callback as unknown as (e: null, a: Array<LookupAddress>) => void)(null, list)
      const first = list[0] as LookupAddress
      callback(null, first.address, first.family)
    })
  }

export interface GuardedResponse {
  readonly finalUrl: string
  readonly status: number
  readonly contentType: string
  readonly body: Buffer
  readonly truncated: boolean
}

export interface GuardedFetchOptions {
  readonly allowOrigins: ReadonlySet<string>
  readonly maxRedirects?: number
  readonly maxBytes?: number
  readonly timeoutMs?: number
  readonly lookup?: LookupFunction
}

const getOnce = (url: URL, options: GuardedFetchOptions, signal: AbortSignal): Promise<{ response: IncomingMessage; body: Buffer; truncated: boolean }> =>
  new Promise((resolve, reject) => {
    const allowed = options.allowOrigins.has(originOf(url))
    const request = (url.protocol === "https:" ? httpsRequest : httpRequest)(
      url,
      {
        method: "GET",
        headers: { "user-agent": "ConvosAgent/1.0 (+https://convos.org)", accept: "text/html,text/plain,application/json;q=0.9,*/*;q=0.5" },
        // An allowed origin is an exact test address; everything else resolves public-only.
        ...(allowed ? {} : { lookup: options.lookup ?? publicOnlyLookup() }),
        signal,
      },
      (response) => {
        const maxBytes = options.maxBytes ?? 1_000_000
        const parts: Array<Buffer> = []
        let size = 0
        let truncated = false
        response.on("data", (part: Buffer) => {
          if (truncated) return
          size += part.length
          if (size > maxBytes) {
            truncated = true
            parts.push(part.subarray(0, part.length - (size - maxBytes)))
            response.destroy()
            resolve({ response, body: Buffer.concat(parts), truncated })
            return
          }
          parts.push(part)
        })
        response.on("end", () => resolve({ response, body: Buffer.concat(parts), truncated }))
        response.on("error", (error) => (truncated ? undefined : reject(error)))
      },
    )
    request.on("error", reject)
    request.end()
  })

/** GET `raw`, following at most `maxRedirects` redirects, each hop checked. Throws FetchRefused or a network error. */
export const guardedGet = async (raw: string, options: GuardedFetchOptions): Promise<GuardedResponse> => {
  const signal = AbortSignal.timeout(options.timeoutMs ?? 15_000)
  let url = checkUrl(raw, options.allowOrigins)
  for (let hop = 0; ; hop += 1) {
    const { response, body, truncated } = await getOnce(url, options, signal)
    const status = response.statusCode ?? 0
    const location = response.headers.location
    if (status >= 300 && status < 400 && location !== undefined) {
      if (hop >= (options.maxRedirects ?? 3)) throw new FetchRefused("too many redirects")
      url = checkUrl(new URL(location, url).toString(), options.allowOrigins)
      continue
    }
    return { finalUrl: url.toString(), status, contentType: String(response.headers["content-type"] ?? ""), body, truncated }
  }
}
