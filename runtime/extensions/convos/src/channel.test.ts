import { describe, expect, it } from "vitest"
import { createConvosAccounts, instanceForSend } from "./channel.ts"
import type { ConvosInstance } from "./instance.ts"
import { accountIdsOf, accountSettingsOf } from "./settings.ts"

describe("outbound account choice", () => {
  const accounts = createConvosAccounts()
  const mine = { id: "a" } as unknown as ConvosInstance
  accounts.instances.set("slotaaaa", mine)

  it("sends only as the named, running account", () => {
    expect(instanceForSend(accounts, "slotaaaa")).toBe(mine)
  })

  it("refuses a send with no account, the default account, or an account not running: never another identity", () => {
    for (const accountId of [null, undefined, "", "default"]) expect(() => instanceForSend(accounts, accountId)).toThrow("refusing to send without an account")
    expect(() => instanceForSend(accounts, "slotbbbb")).toThrow("account slotbbbb is not running")
  })

  it("refuses everything once the host closed its channels", () => {
    const closed = createConvosAccounts()
    closed.instances.set("slotaaaa", mine)
    closed.closed = true
    expect(() => instanceForSend(closed, "slotaaaa")).toThrow("not running")
  })
})

describe("account settings from the gateway config", () => {
  const cfg = {
    channels: {
      convos: {
        accounts: {
          slotaaaa: { enabled: true, stateDir: "/data/slots/slotaaaa/convos", modelConfigured: true, tools: { AGENTMAIL_INBOX_ID: "a@m.x" } },
          slotbbbb: { enabled: false, stateDir: "/data/slots/slotbbbb/convos" },
          slotcccc: { enabled: true, stateDir: "/data/slots/slotcccc/convos", modelConfigured: true, warmUp: false, tools: {} },
          default: { enabled: true, stateDir: "/x" },
        },
      },
    },
  }

  it("lists the slots (never default) and reads each one's own settings", () => {
    expect(accountIdsOf(cfg)).toEqual(["slotaaaa", "slotbbbb", "slotcccc"])
    expect(accountSettingsOf(cfg, "slotaaaa")).toEqual({ accountId: "slotaaaa", enabled: true, stateDir: "/data/slots/slotaaaa/convos", modelConfigured: true, warmUp: true, tools: { AGENTMAIL_INBOX_ID: "a@m.x" } })
    // A slot a claim already waits for skips its warm-up turn.
    expect(accountSettingsOf(cfg, "slotcccc")?.warmUp).toBe(false)
    expect(accountSettingsOf(cfg, "slotbbbb")?.enabled).toBe(false)
    expect(accountSettingsOf(cfg, "default")).toBeUndefined()
    expect(accountSettingsOf(cfg, "nosuchslot")).toBeUndefined()
    expect(accountIdsOf({})).toEqual([])
  })
})
