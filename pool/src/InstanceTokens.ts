import { Config, Context, Effect, Layer, Option, Redacted } from "effect"
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto"
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { DataDir } from "./DataDir.ts"

/**
 * Per-slot and per-host tokens. A token is HMAC(secret, slot or host id): the pool can always recompute the token it must send
 * to an instance, yet stores only the token's SHA-256 hash, so a database leak gives no one an instance's token.
 * The secret comes from `INSTANCE_TOKEN_SECRET`, or is generated once into `DATA_DIR/instance-token-secret` (0600).
 */
export class InstanceTokens extends Context.Service<InstanceTokens, {
  tokenFor(instanceId: string): Redacted.Redacted<string>
  /** A host's token (another HMAC namespace: a slot token never opens a host, and back). */
  hostTokenFor(hostId: string): Redacted.Redacted<string>
  hash(token: string): string
  /** Constant-time check of a presented token against the stored hash. */
  verify(presented: string, storedHash: string): boolean
}>()("pool/InstanceTokens") {
  static readonly layer = Layer.effect(
    InstanceTokens,
    Effect.gen(function*() {
      const configured = yield* Config.option(Config.Redacted("INSTANCE_TOKEN_SECRET"))
      const dataDir = yield* DataDir
      const secret = Option.isSome(configured) ? Redacted.value(configured.value) : loadOrCreateSecret(dataDir)
      return InstanceTokens.of(make(secret))
    }),
  )

  static readonly layerSecret = (secret: string) => Layer.succeed(InstanceTokens, InstanceTokens.of(make(secret)))
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex")

const make = (secret: string): InstanceTokens["Service"] => ({
  tokenFor: (instanceId) => Redacted.make(createHmac("sha256", secret).update(`instance:${instanceId}`).digest("hex")),
  hostTokenFor: (hostId) => Redacted.make(createHmac("sha256", secret).update(`host:${hostId}`).digest("hex")),
  hash: sha256,
  verify: (presented, storedHash) => {
    const a = Buffer.from(sha256(presented), "hex")
    const b = Buffer.from(storedHash, "hex")
    return a.length === b.length && timingSafeEqual(a, b)
  },
})

const loadOrCreateSecret = (dataDir: string) => {
  const file = join(dataDir, "instance-token-secret")
  if (existsSync(file)) return readFileSync(file, "utf8").trim()
  mkdirSync(dataDir, { recursive: true })
  const secret = randomBytes(32).toString("hex")
  writeFileSync(file, secret, { mode: 0o600 })
  chmodSync(file, 0o600)
  return secret
}
