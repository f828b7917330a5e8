/**
 * Deterministic generator of random and mutated invite inputs, shared by the fuzz test and `npm run bench:invite`.
 */
import { deflateRawSync, deflateSync } from "node:zlib"

/** mulberry32: tiny seeded PRNG so a failing case can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_*"
const NOISE = " \n\t?=&/:%#@!+é🦊\u0000\uffff"

export function generateInviteInput(random: () => number, validSlugs: readonly string[]): string {
  const int = (n: number): number => Math.floor(random() * n)
  const pick = <T,>(items: readonly T[]): T => items[int(items.length)] as T
  const randomBytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => int(256)))
  const base = pick(validSlugs).replace(/\*/g, "")
  switch (int(10)) {
    case 0: // random slug-alphabet text
      return Array.from({ length: int(400) }, () => pick([...ALPHABET])).join("")
    case 1: // random unicode / noise
      return Array.from({ length: int(80) }, () => (random() < 0.5 ? pick([...NOISE]) : String.fromCharCode(int(0xd800)))).join("")
    case 2: // random bytes, base64url
      return randomBytes(int(300)).toString("base64url")
    case 3: { // bit flips in a valid invite's bytes
      const bytes = Buffer.from(base, "base64url")
      for (let i = 0, n = 1 + int(4); i < n; i++) {
        const at = int(bytes.length)
        bytes[at] = (bytes[at] ?? 0) ^ (1 << int(8))
      }
      return bytes.toString("base64url")
    }
    case 4: // truncation / extension of a valid slug
      return random() < 0.5 ? base.slice(0, int(base.length)) : base + pick([...ALPHABET]).repeat(1 + int(5))
    case 5: { // character substitutions in a valid slug
      const chars = [...base]
      for (let i = 0, n = 1 + int(6); i < n; i++) chars[int(chars.length)] = pick([...ALPHABET, ...NOISE])
      return chars.join("")
    }
    case 6: { // compression marker with garbage or a random real deflate stream
      const header = Buffer.from([0x1f, int(256), int(256), int(256), int(256)])
      const body = random() < 0.5 ? randomBytes(int(200)) : (random() < 0.5 ? deflateRawSync : deflateSync)(randomBytes(int(300)))
      return Buffer.concat([header, body]).toString("base64url")
    }
    case 7: // URL wrappers around mutated slugs
      return pick([
        (s: string) => `https://dev.convos.org/v2?i=${s}`,
        (s: string) => `https://convos.org/join?code=${encodeURIComponent(s)}`,
        (s: string) => `convos://join/${s}`,
        (s: string) => `https://convos.app/join/${s}%${pick(["", "zz", "E0%A4"])}`,
        (s: string) => `https://host/${s}`,
        (s: string) => `${pick(["http", "ftp", "mailto", "data"])}:${s}`,
      ])(random() < 0.5 ? base : base.slice(int(base.length)))
    case 8: { // protobuf-ish byte soup: plausible tags with hostile lengths
      const parts = Array.from({ length: 1 + int(6) }, () =>
        Buffer.from([(1 + int(12)) * 8 + pick([0, 1, 2, 3, 4, 5, 6, 7]), ...randomBytes(int(12))]),
      )
      return Buffer.concat(parts).toString("base64url")
    }
    default: // separators and whitespace sprinkled into a valid slug
      return [...base].map((c) => (random() < 0.02 ? `${pick(["*", "**", " ", "\n"])}${c}` : c)).join("")
  }
}
