import { describe, expect, it } from "vitest"
import { agentTools } from "./tools.ts"

/** AgentMail's inbox id need not be an address: the pool sends the address apart (AGENTMAIL_ADDRESS). */
const linked = { slotId: "slot7abc", toolsUrl: "http://127.0.0.1:4555", gatewayToken: "gateway-token-0123456789abcdef" }
const descriptions = (tools: Record<string, string>) => agentTools({ ...linked, tools }).map((tool) => tool.description).join("\n")

describe("the agent's own email address", () => {
  it("is AGENTMAIL_ADDRESS when the pool sends it, not the inbox id; the id alone still gives the tools", () => {
    const both = descriptions({ AGENTMAIL_INBOX_ID: "inb_0a1b2c", AGENTMAIL_ADDRESS: "chef@agentmail.to" })
    expect(both).toContain("your own address chef@agentmail.to")
    expect(both).not.toContain("inb_0a1b2c")
    expect(descriptions({ AGENTMAIL_INBOX_ID: "chef@agentmail.to" })).toContain("your own address chef@agentmail.to")
    expect(agentTools({ ...linked, tools: { AGENTMAIL_ADDRESS: "chef@agentmail.to" } })).toEqual([])
  })
})
