import { generateInboxId } from "@xmtp/node-sdk"
import { mkdtemp, readFile, rm, stat, chmod, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { IDENTITY_FILE, IdentityError, inboxIdForAddress, loadOrCreateIdentity } from "./identity.ts"

let stateDir: string
beforeEach(async () => {
  stateDir = join(await mkdtemp(join(tmpdir(), "convos-identity-")), "state")
})
afterEach(async () => {
  await rm(join(stateDir, ".."), { recursive: true, force: true })
})

async function reasonOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!(error instanceof IdentityError)) throw new Error(`expected IdentityError, got ${String(error)}`)
  return error.reason
}

describe("loadOrCreateIdentity", () => {
  it("creates a 0600 identity in a 0700 dir and loads the same one again", async () => {
    const created = await loadOrCreateIdentity({ stateDir, encryptionKey: "" })
    expect(created.walletKey).toMatch(/^0x[0-9a-f]{64}$/)
    expect(created.dbEncryptionKey).toMatch(/^0x[0-9a-f]{64}$/)
    expect((await stat(join(stateDir, IDENTITY_FILE))).mode & 0o777).toBe(0o600)
    expect((await stat(stateDir)).mode & 0o777).toBe(0o700)
    expect(await loadOrCreateIdentity({ stateDir, encryptionKey: "" })).toEqual(created)
  })

  it("derives the inbox id exactly as XMTP does", async () => {
    const { address, inboxId } = await loadOrCreateIdentity({ stateDir, encryptionKey: "" })
    expect(inboxId).toBe(generateInboxId({ identifier: address, identifierKind: 0 }))
    expect(inboxIdForAddress(address.toUpperCase())).toBe(inboxId)
  })

  it("with an encryption key keeps no secret in plaintext and needs the same key to load", async () => {
    const created = await loadOrCreateIdentity({ stateDir, encryptionKey: "correct horse" })
    const onDisk = await readFile(join(stateDir, IDENTITY_FILE), "utf8")
    expect(onDisk).not.toContain(created.walletKey.slice(2))
    expect(onDisk).not.toContain(created.dbEncryptionKey.slice(2))
    expect(await loadOrCreateIdentity({ stateDir, encryptionKey: "correct horse" })).toEqual(created)
    expect(await reasonOf(loadOrCreateIdentity({ stateDir, encryptionKey: "wrong" }))).toBe("wrong_encryption_key")
    expect(await reasonOf(loadOrCreateIdentity({ stateDir, encryptionKey: "" }))).toBe("encryption_key_required")
    // Neither failure replaced the identity.
    expect(await readFile(join(stateDir, IDENTITY_FILE), "utf8")).toBe(onDisk)
  })

  it("reads the key from CONVOS_KEY_ENCRYPTION_KEY when no option is given", async () => {
    const previous = process.env.CONVOS_KEY_ENCRYPTION_KEY
    process.env.CONVOS_KEY_ENCRYPTION_KEY = "from-env"
    try {
      expect((await loadOrCreateIdentity({ stateDir })).encryptedAtRest).toBe(true)
      expect(await reasonOf(loadOrCreateIdentity({ stateDir, encryptionKey: "other" }))).toBe("wrong_encryption_key")
    } finally {
      if (previous === undefined) delete process.env.CONVOS_KEY_ENCRYPTION_KEY
      else process.env.CONVOS_KEY_ENCRYPTION_KEY = previous
    }
  })

  it("upgrades a plaintext identity to encrypted when a key is set, keeping the same keys", async () => {
    const plain = await loadOrCreateIdentity({ stateDir, encryptionKey: "" })
    const upgraded = await loadOrCreateIdentity({ stateDir, encryptionKey: "k" })
    expect(upgraded).toEqual({ ...plain, encryptedAtRest: true })
    expect(await readFile(join(stateDir, IDENTITY_FILE), "utf8")).not.toContain(plain.walletKey.slice(2))
  })

  it("refuses a corrupt or mismatched file instead of creating a new identity", async () => {
    await loadOrCreateIdentity({ stateDir, encryptionKey: "" })
    const path = join(stateDir, IDENTITY_FILE)
    const original = JSON.parse(await readFile(path, "utf8"))
    await writeFile(path, "{not json")
    expect(await reasonOf(loadOrCreateIdentity({ stateDir, encryptionKey: "" }))).toBe("corrupt_identity_file")
    await writeFile(path, JSON.stringify({ ...original, address: "0x" + "1".repeat(40) }))
    expect(await reasonOf(loadOrCreateIdentity({ stateDir, encryptionKey: "" }))).toBe("corrupt_identity_file")
  })

  it("tightens loose permissions on an existing file", async () => {
    await loadOrCreateIdentity({ stateDir, encryptionKey: "" })
    await chmod(join(stateDir, IDENTITY_FILE), 0o644)
    await loadOrCreateIdentity({ stateDir, encryptionKey: "" })
    expect((await stat(join(stateDir, IDENTITY_FILE))).mode & 0o777).toBe(0o600)
  })
})
