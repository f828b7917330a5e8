/**
 * A loopback fake of Telnyx API v2 for numbers and messaging: `GET /v2/available_phone_numbers` (the inventory),
 * `POST /v2/number_orders` (422 when the number was taken meanwhile), `GET /v2/phone_numbers?filter[customer_reference]=`
 * (numbers the account owns) and `POST /v2/messages`. Faults via `inject` (providerHttp.ts).
 *
 *   const telnyx = await startFakeTelnyx({ apiKey: "tx" })
 *   telnyx.inventory.push("+15550001111")   // numbers for sale
 *   telnyx.owned                            // number → {customerReference, messagingProfileId}
 *   telnyx.messages                         // SMS sent
 */
import { type FakeHttpServer, fakeId, startFakeHttp } from "./providerHttp.ts"

export interface FakeTelnyx extends FakeHttpServer {
  readonly apiUrl: string
  /** Numbers for sale. */
  readonly inventory: Array<string>
  readonly owned: Map<string, { customerReference: string | null; messagingProfileId: string | null }>
  readonly messages: Array<{ id: string; from: string; to: string; text: string }>
  /**
   * Numbers that show up in searches but are sold to someone else when ordered (422). The value, if any, is a number
   * that appears in the inventory at that moment (the market moved on).
   */
  readonly takenOnOrder: Map<string, string | undefined>
}

const telnyxError = (status: number, code: string, title: string) => ({
  status,
  body: { errors: [{ code, title, detail: title }] },
})

export const startFakeTelnyx = async (options: { readonly apiKey: string }): Promise<FakeTelnyx> => {
  const inventory: Array<string> = []
  const owned = new Map<string, { customerReference: string | null; messagingProfileId: string | null }>()
  const messages: Array<{ id: string; from: string; to: string; text: string }> = []
  const takenOnOrder = new Map<string, string | undefined>()
  const server = await startFakeHttp({
    token: options.apiKey,
    handle: ({ method, path, query, body }) => {
      if (path === "/v2/available_phone_numbers" && method === "GET") {
        if (query.get("filter[country_code]") !== "US" || !query.getAll("filter[features][]").includes("sms")) {
          return { status: 200, body: { data: [], metadata: { total_results: 0 } } }
        }
        const limit = Number(query.get("filter[limit]") ?? 20)
        const data = inventory.slice(0, limit).map((phone_number) => ({
          record_type: "available_phone_number",
          phone_number,
          features: [{ name: "sms" }, { name: "voice" }],
        }))
        return { status: 200, body: { data, metadata: { total_results: data.length } } }
      }
      if (path === "/v2/number_orders" && method === "POST") {
        const input = (body ?? {}) as {
          phone_numbers?: Array<{ phone_number?: string }>
          messaging_profile_id?: string
          customer_reference?: string
        }
        const wanted = input.phone_numbers?.[0]?.phone_number
        if (wanted === undefined) return telnyxError(422, "10015", "phone_numbers is required")
        const index = inventory.indexOf(wanted)
        if (index === -1 || takenOnOrder.has(wanted)) {
          if (index !== -1) inventory.splice(index, 1)
          const replacement = takenOnOrder.get(wanted)
          if (replacement !== undefined) inventory.push(replacement)
          takenOnOrder.delete(wanted)
          return telnyxError(422, "10015", "Number is no longer available")
        }
        inventory.splice(index, 1)
        owned.set(wanted, {
          customerReference: input.customer_reference ?? null,
          messagingProfileId: input.messaging_profile_id ?? null,
        })
        return {
          status: 200,
          body: {
            data: {
              id: fakeId("order"),
              record_type: "number_order",
              status: "success",
              customer_reference: input.customer_reference ?? null,
              messaging_profile_id: input.messaging_profile_id ?? null,
              phone_numbers: [{ id: fakeId("num"), phone_number: wanted, status: "success" }],
            },
          },
        }
      }
      if (path === "/v2/phone_numbers" && method === "GET") {
        const reference = query.get("filter[customer_reference]")
        const data = [...owned.entries()]
          .filter(([, details]) => reference === null || details.customerReference === reference)
          .map(([phone_number, details]) => ({
            id: fakeId("num"),
            phone_number,
            status: "active",
            customer_reference: details.customerReference,
            messaging_profile_id: details.messagingProfileId,
          }))
        return { status: 200, body: { data, meta: { total_results: data.length } } }
      }
      if (path === "/v2/messages" && method === "POST") {
        const input = (body ?? {}) as { from?: string; to?: string; text?: string }
        if (input.from === undefined || !owned.has(input.from)) return telnyxError(422, "40305", "Invalid 'from' address")
        if (input.to === undefined || input.text === undefined) return telnyxError(422, "10015", "to and text are required")
        const message = { id: fakeId("sms"), from: input.from, to: input.to, text: input.text }
        messages.push(message)
        return { status: 200, body: { data: { id: message.id, record_type: "message", direction: "outbound" } } }
      }
      return telnyxError(404, "10005", `no route ${method} ${path}`)
    },
  })
  return Object.assign(server, { apiUrl: `${server.url}/v2`, inventory, owned, messages, takenOnOrder })
}
