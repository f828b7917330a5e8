/**
 * The XMTP identity of one agent or bot, persisted in its state dir as `identity.json` (mode 0600, dir 0700):
 * a secp256k1 wallet key (signs XMTP identity updates and Convos invites) and the 32-byte SQLCipher key of the
 * local XMTP database. Reusing both on every start keeps the same installation: inboxes have an installation limit.
 *
 * At-rest encryption: with an encryption key (option `encryptionKey`, or env `CONVOS_KEY_ENCRYPTION_KEY`), the two
 * secrets are stored AES-256-GCM encrypted under a scrypt-derived key. A plaintext file found while a key is set is
 * upgraded in place. A wrong or missing key is an `IdentityError`; an unreadable file is never replaced by a new
 * identity.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, scrypt as scryptCallback } from "node:crypto"
import { chmod, mkdir, open, readFile, rename, stat } from "node:fs/promises"
import { join } from "node:path"
import type { Hex } from "viem"
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts"

export const KEY_ENCRYPTION_ENV = "CONVOS_KEY_ENCRYPTION_KEY"
export const IDENTITY_FILE = "identity.json"

export interface ConvosIdentity {
  walletKey: Hex
  /** 32 bytes, 0x-hex: the SQLCipher key of the XMTP database. */
  dbEncryptionKey: Hex
  /** Lower-case Ethereum address of the wallet key. */
  address: string
  /** The inbox id XMTP derives for this address (nonce 1). */
  inboxId: string
  createdAt: string
  /** Whether the file on disk holds the secrets encrypted. */
  encryptedAtRest: boolean
}

export type IdentityErrorReason = "encryption_key_required" | "wrong_encryption_key" | "corrupt_identity_file" | "io"

export class IdentityError extends Error {
  readonly _tag = "IdentityError"
  constructor(
    readonly reason: IdentityErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = "IdentityError"
  }
}

export interface LoadIdentityOptions {
  stateDir: string
  /** Passphrase for at-rest encryption; defaults to env CONVOS_KEY_ENCRYPTION_KEY; empty means none. */
  encryptionKey?: string
}

interface Secrets {
  walletKey: Hex
  dbEncryptionKey: Hex
}
interface PublicPart {
  version: 1
  address: string
  inboxId: string
  createdAt: string
}
type PlainFile = PublicPart & { encrypted: false } & Secrets
type EncryptedFile = PublicPart & {
  encrypted: true
  kdf: { name: "scrypt"; N: number; r: number; p: number; salt: string }
  iv: string
  authTag: string
  ciphertext: string
}

const SCRYPT = { N: 1 << 15, r: 8, p: 1 }

/** XMTP's inbox id for an Ethereum identifier: sha256(lowercase address ‖ nonce), nonce 1 by default. */
export function inboxIdForAddress(address: string, nonce = 1n): string {
  return createHash("sha256").update(`${address.toLowerCase()}${nonce}`).digest("hex")
}

function scrypt(passphrase: string, salt: Buffer, params: { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCallback(passphrase, salt, 32, { ...params, maxmem: 128 * params.N * params.r * 2 }, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  )
}

async function encryptSecrets(secrets: Secrets, passphrase: string, publicPart: PublicPart): Promise<EncryptedFile> {
  const salt = randomBytes(16)
  const iv = randomBytes(12)
  const key = await scrypt(passphrase, salt, SCRYPT)
  const cipher = createCipheriv("aes-256-gcm", key, iv)
  // The public part is authenticated too: swapping in another identity's address is detected.
  cipher.setAAD(Buffer.from(`${publicPart.address}:${publicPart.inboxId}`))
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(secrets), "utf8"), cipher.final()])
  return {
    ...publicPart,
    encrypted: true,
    kdf: { name: "scrypt", ...SCRYPT, salt: salt.toString("base64") },
    iv: iv.toString("base64"),
    authTag: cipher.getAuthTag().toString("base64"),
    ciphertext: ciphertext.toString("base64"),
  }
}

async function decryptSecrets(file: EncryptedFile, passphrase: string): Promise<Secrets> {
  const key = await scrypt(passphrase, Buffer.from(file.kdf.salt, "base64"), file.kdf)
  const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(file.iv, "base64"))
  decipher.setAAD(Buffer.from(`${file.address}:${file.inboxId}`))
  decipher.setAuthTag(Buffer.from(file.authTag, "base64"))
  let plaintext: string
  try {
    plaintext = Buffer.concat([decipher.update(Buffer.from(file.ciphertext, "base64")), decipher.final()]).toString("utf8")
  } catch (cause) {
    throw new IdentityError("wrong_encryption_key", `${KEY_ENCRYPTION_ENV} does not decrypt the stored identity`, { cause })
  }
  return JSON.parse(plaintext) as Secrets
}

const isHex32 = (value: unknown): value is Hex => typeof value === "string" && /^0x[0-9a-fA-F]{64}$/.test(value)

function validate(file: unknown): PlainFile | EncryptedFile {
  const f = file as Record<string, unknown> | null
  if (!f || f.version !== 1 || typeof f.address !== "string" || typeof f.inboxId !== "string")
    throw new IdentityError("corrupt_identity_file", "identity file has no version-1 address and inbox id")
  if (f.encrypted === true) {
    if (typeof f.kdf !== "object" || typeof f.iv !== "string" || typeof f.authTag !== "string" || typeof f.ciphertext !== "string")
      throw new IdentityError("corrupt_identity_file", "encrypted identity file is missing fields")
    return f as unknown as EncryptedFile
  }
  if (!isHex32(f.walletKey) || !isHex32(f.dbEncryptionKey))
    throw new IdentityError("corrupt_identity_file", "identity file has malformed keys")
  return f as unknown as PlainFile
}

async function writeAtomically(path: string, contents: string): Promise<void> {
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`
  const handle = await open(temporary, "wx", 0o600)
  try {
    await handle.writeFile(contents)
    await handle.sync()
  } finally {
    await handle.close()
  }
  await rename(temporary, path)
}

function toIdentity(publicPart: PublicPart, secrets: Secrets, encryptedAtRest: boolean): ConvosIdentity {
  const address = privateKeyToAccount(secrets.walletKey).address.toLowerCase()
  if (address !== publicPart.address.toLowerCase())
    throw new IdentityError("corrupt_identity_file", "the stored wallet key does not match the stored address")
  return { ...secrets, address, inboxId: publicPart.inboxId, createdAt: publicPart.createdAt, encryptedAtRest }
}

export async function loadOrCreateIdentity(options: LoadIdentityOptions): Promise<ConvosIdentity> {
  const passphrase = options.encryptionKey ?? process.env[KEY_ENCRYPTION_ENV] ?? ""
  const path = join(options.stateDir, IDENTITY_FILE)
  try {
    await mkdir(options.stateDir, { recursive: true, mode: 0o700 })
  } catch (cause) {
    throw new IdentityError("io", `cannot create state dir ${options.stateDir}`, { cause })
  }

  let raw: string | undefined
  try {
    raw = await readFile(path, "utf8")
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT")
      throw new IdentityError("io", `cannot read ${path}`, { cause: error })
  }

  if (raw === undefined) {
    const walletKey = generatePrivateKey()
    const secrets: Secrets = { walletKey, dbEncryptionKey: `0x${randomBytes(32).toString("hex")}` }
    const address = privateKeyToAccount(walletKey).address.toLowerCase()
    const publicPart: PublicPart = { version: 1, address, inboxId: inboxIdForAddress(address), createdAt: new Date().toISOString() }
    const file = passphrase ? await encryptSecrets(secrets, passphrase, publicPart) : { ...publicPart, encrypted: false, ...secrets }
    try {
      await writeAtomically(path, JSON.stringify(file, null, 2))
    } catch (cause) {
      throw new IdentityError("io", `cannot write ${path}`, { cause })
    }
    return toIdentity(publicPart, secrets, Boolean(passphrase))
  }

  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch (cause) {
    throw new IdentityError("corrupt_identity_file", `${path} is not JSON`, { cause })
  }
  const file = validate(parsed)
  const publicPart: PublicPart = { version: 1, address: file.address, inboxId: file.inboxId, createdAt: file.createdAt }
  // Tighten permissions left loose by an operator or an older version.
  if (((await stat(path)).mode & 0o077) !== 0) await chmod(path, 0o600)

  if (file.encrypted) {
    if (!passphrase)
      throw new IdentityError("encryption_key_required", `${path} is encrypted: set ${KEY_ENCRYPTION_ENV} to the key it was written with`)
    return toIdentity(publicPart, await decryptSecrets(file, passphrase), true)
  }
  const secrets: Secrets = { walletKey: file.walletKey, dbEncryptionKey: file.dbEncryptionKey }
  if (passphrase) {
    await writeAtomically(path, JSON.stringify(await encryptSecrets(secrets, passphrase, publicPart), null, 2))
    return toIdentity(publicPart, secrets, true)
  }
  return toIdentity(publicPart, secrets, false)
}
