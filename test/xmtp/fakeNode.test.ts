import { Client } from "@xmtp/node-sdk"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startFakeXmtpNode, type FakeXmtpNode } from "./fakeNode.ts"
import { randomSigner } from "./randomSigner.ts"

describe("fake XMTP node", () => {
  let node: FakeXmtpNode
  beforeAll(async () => {
    node = await startFakeXmtpNode()
  })
  afterAll(async () => {
    await node.stop()
  })

  it("lets two real node-sdk clients exchange a group message", async () => {
    const options = { env: "local", apiUrl: node.apiUrl, dbPath: null, disableDeviceSync: true } as const
    const alice = await Client.create(randomSigner(), options)
    const bob = await Client.create(randomSigner(), options)
    try {
      const stream = await bob.conversations.streamAllMessages()
      const group = await alice.conversations.createGroup([bob.inboxId])
      await bob.conversations.sync()
      await group.sendText("hello bob")
      let received: { text: unknown; conversationId: string; sender: string } | undefined
      for await (const message of stream) {
        if (typeof message?.content === "string") {
          received = { text: message.content, conversationId: message.conversationId, sender: message.senderInboxId }
          break
        }
      }
      await stream.end()
      expect(received).toEqual({ text: "hello bob", conversationId: group.id, sender: alice.inboxId })
      expect(node.rpcCounts["/xmtp.mls.api.v1.MlsApi/SendGroupMessages"]).toBeGreaterThan(0)
    } finally {
      await Promise.all([alice.close(), bob.close()])
    }
  })
})
