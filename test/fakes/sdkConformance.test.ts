/**
 * The fakes speak the real services' wire format as their official SDKs understand it: each SDK, pointed at a fake by
 * its base-URL option, runs the calls the pool makes and decodes the answers. A fake that drifted from the real API
 * (a field renamed, a query form the SDK does not send) fails here. The pool itself keeps its own clients (see the
 * headers of pool/src/resources/*.ts for why); this is where the fakes are held to the SDKs.
 */
import { OpenRouter } from "@openrouter/sdk"
import { AgentMailClient } from "agentmail"
import Telnyx from "telnyx"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type FakeAgentMail, startFakeAgentMail } from "./agentmail.ts"
import { type FakeOpenRouter, startFakeOpenRouter } from "./openrouter.ts"
import { type FakeTelnyx, startFakeTelnyx } from "./telnyx.ts"

let telnyx: FakeTelnyx
let agentmail: FakeAgentMail
let openrouter: FakeOpenRouter
beforeAll(async () => {
  ;[telnyx, agentmail, openrouter] = await Promise.all([
    startFakeTelnyx({ apiKey: "tx-key" }),
    startFakeAgentMail({ apiKey: "am-key" }),
    startFakeOpenRouter({ managementKey: "or-key" }),
  ])
})
afterAll(() => Promise.all([telnyx.close(), agentmail.close(), openrouter.close()]))

describe("official SDKs against the fakes", () => {
  it("telnyx 7.24.0: search (comma form), order and await it, assign to a 10DLC campaign, send, release", async () => {
    const client = new Telnyx({ apiKey: "tx-key", baseURL: telnyx.apiUrl, maxRetries: 0 })
    telnyx.inventory.push("+15550009999")
    telnyx.campaigns.add("cmp_sdk")
    const found = await client.availablePhoneNumbers.list({ filter: { country_code: "US", features: ["sms"] } })
    expect(telnyx.calls.at(-1)?.query.get("filter[features]")).toBe("sms")
    expect(found.data?.map((n) => n.phone_number)).toEqual(["+15550009999"])

    const order = await client.numberOrders.create({ phone_numbers: [{ phone_number: "+15550009999" }], customer_reference: "sdk-ref" })
    expect(order.data?.status).toBe("pending")
    const looked = await client.numberOrders.retrieve(order.data!.id!)
    const done = looked.data?.status === "pending" ? await client.numberOrders.retrieve(order.data!.id!) : looked
    expect(done.data?.status).toBe("success")
    const listed = await client.numberOrders.list({ filter: { customer_reference: "sdk-ref" } })
    expect(listed.data.map((o) => o.id)).toEqual([order.data!.id])

    // Purchase-pending for a look after the order succeeds, then active (only active numbers join a campaign).
    expect((await client.phoneNumbers.list({ filter: { phone_number: "+15550009999" } })).data[0]?.status).toBe("purchase-pending")
    expect((await client.phoneNumbers.list({ filter: { phone_number: "+15550009999" } })).data[0]?.status).toBe("active")
    const assigned = await client.messaging10dlc.phoneNumberCampaigns.create({ phoneNumber: "+15550009999", campaignId: "cmp_sdk" })
    expect(assigned.assignmentStatus).toBe("PENDING_ASSIGNMENT")
    await client.messaging10dlc.phoneNumberCampaigns.retrieve("+15550009999")
    expect((await client.messaging10dlc.phoneNumberCampaigns.retrieve("+15550009999")).assignmentStatus).toBe("ASSIGNED")

    const sent = await client.messages.send({ from: "+15550009999", to: "+15557654321", text: "hi" })
    expect(sent.data?.id).toBe(telnyx.messages[0]!.id)

    const owned = await client.phoneNumbers.list({ filter: { phone_number: "+15550009999" } })
    const id = owned.data[0]!.id!
    await client.phoneNumbers.delete(id)
    expect(telnyx.deleted).toEqual(["+15550009999"])
  })

  it("agentmail 0.5.27: an inbox with its own email, an idempotent send, received mail by label, delete", async () => {
    const client = new AgentMailClient({ apiKey: "am-key", baseUrl: agentmail.apiUrl, maxRetries: 0 })
    const inbox = await client.inboxes.create({ username: "sdk-agent", clientId: "sdk-client" })
    expect(inbox.email).toBe("sdk-agent@agentmail.to")
    expect(inbox.inboxId).not.toBe(inbox.email)
    expect((await client.inboxes.get(inbox.inboxId)).clientId).toBe("sdk-client")

    const first = await client.inboxes.messages.send(inbox.inboxId, { to: ["a@example.com"], subject: "s", text: "t" }, { idempotencyKey: "k1" })
    const again = await client.inboxes.messages.send(inbox.inboxId, { to: ["a@example.com"], subject: "s", text: "t" }, { idempotencyKey: "k1" })
    expect(again.messageId).toBe(first.messageId)
    agentmail.deliver(inbox.inboxId, { from: "b@example.com", subject: "hello", text: "body" })
    const received = await client.inboxes.messages.list(inbox.inboxId, { labels: ["received"] })
    expect(received.messages.map((m) => m.subject)).toEqual(["hello"])

    await client.inboxes.delete(inbox.inboxId)
    expect(agentmail.inboxes.size).toBe(0)
  })

  it("@openrouter/sdk 1.3.19: a capped key is created, read and deleted", async () => {
    const client = new OpenRouter({ apiKey: "or-key", serverURL: openrouter.apiUrl })
    const created = await client.apiKeys.create({ requestBody: { name: "sdk-key", limit: 5, limitReset: "monthly" } })
    expect(created.data.name).toBe("sdk-key")
    expect(created.key).toMatch(/^sk-or-v1-/)
    expect((await client.apiKeys.get({ hash: created.data.hash })).data.limit).toBe(5)
    await client.apiKeys.delete({ hash: created.data.hash })
    expect(openrouter.keys.size).toBe(0)
  })
})
