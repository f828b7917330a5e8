/**
 * A loopback fake of Telnyx API v2 for numbers, 10DLC and messaging, behaving as the documentation and the official
 * SDK (telnyx 7.24.0) describe the real service:
 *
 * - `GET /v2/available_phone_numbers`: the inventory. Only the comma form `filter[features]=sms` filters by feature;
 *   without it voice-only numbers (`voiceOnly`) are offered too, as an ignored filter would.
 * - `POST /v2/number_orders` answers `pending` at once (422 when the number was taken meanwhile); the order turns
 *   `success` or `failure` (numbers in `failOnOrder`) after `settings.pendingLooks` looks at `GET /v2/number_orders/:id`.
 *   Its number is `purchase-pending` until then and for `settings.activationLooks` looks at it after a success (then
 *   `active`; only an active number can join a 10DLC campaign), gone after a failure.
 *   `GET /v2/number_orders?filter[customer_reference]=` lists orders by reference (the documented filter).
 * - `GET /v2/phone_numbers?filter[phone_number]=` and `DELETE /v2/phone_numbers/:id` (the release).
 * - `POST /v2/10dlc/phone_number_campaigns {phoneNumber, campaignId}` (campaign must be in `campaigns`), `GET` and
 *   `PUT /v2/10dlc/phone_number_campaigns/:phoneNumber`: `PENDING_ASSIGNMENT`, then `ASSIGNED` (or `FAILED_ASSIGNMENT`
 *   for numbers in `failAssignment`) after `settings.pendingLooks` looks.
 * - `POST /v2/messages` answers 200 even from a number on no campaign: carriers drop that message later, so the fake
 *   records it as `failed` (what a delivery webhook would then report). With `messaging_profile_id` and a profile
 *   whose number pool is on (`numberPoolProfiles`), Telnyx may send from any number of the profile: the fake sends
 *   from the profile's other number when there is one.
 * Faults via `inject` (providerHttp.ts), e.g. a 429 with `x-ratelimit-reset` (Telnyx sends no `Retry-After`).
 */
import { type FakeHttpServer, type FakeReply, fakeId, startFakeHttp } from "./providerHttp.ts"

export interface FakeOwnedNumber {
  readonly id: string
  customerReference: string | null
  readonly messagingProfileId: string | null
  status: "purchase-pending" | "active"
  /** Looks at it (GET /phone_numbers) after its order succeeded before it turns active. */
  activationLooksLeft?: number
}

export interface FakeNumberOrder {
  readonly id: string
  readonly customerReference: string | null
  readonly phoneNumber: string
  status: "pending" | "success" | "failure"
  looksLeft: number
}

export interface FakeAssignment {
  campaignId: string
  status: "PENDING_ASSIGNMENT" | "ASSIGNED" | "FAILED_ASSIGNMENT"
  looksLeft: number
}

export interface FakeSms {
  readonly id: string
  readonly from: string
  readonly to: string
  readonly text: string
  /** `failed`: no carrier would deliver it (its number is on no active 10DLC campaign). */
  readonly status: "queued" | "failed"
}

export interface FakeTelnyx extends FakeHttpServer {
  readonly apiUrl: string
  /** Numbers for sale. */
  readonly inventory: Array<string>
  /** Numbers for sale that cannot send SMS. */
  readonly voiceOnly: Set<string>
  readonly owned: Map<string, FakeOwnedNumber>
  readonly orders: Map<string, FakeNumberOrder>
  /** Numbers whose order ends in `failure`; the value, if any, appears in the inventory then. */
  readonly failOnOrder: Map<string, string | undefined>
  /** Registered 10DLC campaigns. */
  readonly campaigns: Set<string>
  readonly assignments: Map<string, FakeAssignment>
  readonly failAssignment: Set<string>
  /** Messaging profiles with a number pool turned on. */
  readonly numberPoolProfiles: Set<string>
  readonly messages: Array<FakeSms>
  /** Numbers released with DELETE /phone_numbers/:id. */
  readonly deleted: Array<string>
  /**
   * Numbers that show up in searches but are sold to someone else when ordered (422). The value, if any, is a number
   * that appears in the inventory at that moment (the market moved on).
   */
  readonly takenOnOrder: Map<string, string | undefined>
  /**
   * `pendingLooks`: how many looks an order or an assignment stays pending (default 1); `activationLooks`: how many
   * looks at a bought number it stays `purchase-pending` after its order succeeded (default 1).
   */
  readonly settings: { pendingLooks: number; activationLooks: number }
  /** Puts a number on the account (active, in `messagingProfileId`), as one bought long ago. */
  own(phoneNumber: string, messagingProfileId?: string): void
  /** Empties every table (between tests). */
  clear(): void
}

const telnyxError = (status: number, code: string, title: string): FakeReply => ({
  status,
  body: { errors: [{ code, title, detail: title }] },
})

export const startFakeTelnyx = async (options: { readonly apiKey: string }): Promise<FakeTelnyx> => {
  const inventory: Array<string> = []
  const voiceOnly = new Set<string>()
  const owned = new Map<string, FakeOwnedNumber>()
  const orders = new Map<string, FakeNumberOrder>()
  const failOnOrder = new Map<string, string | undefined>()
  const campaigns = new Set<string>()
  const assignments = new Map<string, FakeAssignment>()
  const failAssignment = new Set<string>()
  const numberPoolProfiles = new Set<string>()
  const messages: Array<FakeSms> = []
  const deleted: Array<string> = []
  const takenOnOrder = new Map<string, string | undefined>()
  const settings = { pendingLooks: 1, activationLooks: 1 }

  const orderBody = (order: FakeNumberOrder) => ({
    id: order.id,
    record_type: "number_order",
    status: order.status,
    customer_reference: order.customerReference,
    phone_numbers_count: 1,
    phone_numbers: [{ id: fakeId("onum"), phone_number: order.phoneNumber, status: order.status, record_type: "number_order_phone_number" }],
  })

  /** A look at an order moves it on, as time would. */
  const look = (order: FakeNumberOrder) => {
    if (order.status !== "pending") return
    if (order.looksLeft > 0) {
      order.looksLeft -= 1
      return
    }
    if (failOnOrder.has(order.phoneNumber)) {
      order.status = "failure"
      owned.delete(order.phoneNumber)
      const replacement = failOnOrder.get(order.phoneNumber)
      if (replacement !== undefined) inventory.push(replacement)
    } else {
      order.status = "success"
      const number = owned.get(order.phoneNumber)
      if (number !== undefined) {
        if (settings.activationLooks === 0) number.status = "active"
        else number.activationLooksLeft = settings.activationLooks
      }
    }
  }

  const assignmentBody = (phoneNumber: string, assignment: FakeAssignment) => ({
    phoneNumber,
    campaignId: assignment.campaignId,
    assignmentStatus: assignment.status,
    ...(assignment.status === "FAILED_ASSIGNMENT" ? { failureReasons: "Number type not eligible for this campaign" } : {}),
    createdAt: "2026-12-01T00:00:00Z",
    updatedAt: "2026-12-01T00:00:00Z",
  })

  const lookAssignment = (phoneNumber: string, assignment: FakeAssignment) => {
    if (assignment.status !== "PENDING_ASSIGNMENT") return
    if (assignment.looksLeft > 0) {
      assignment.looksLeft -= 1
      return
    }
    assignment.status = failAssignment.has(phoneNumber) ? "FAILED_ASSIGNMENT" : "ASSIGNED"
  }

  const assign = (phoneNumber: string, body: unknown): FakeReply => {
    const input = (body ?? {}) as { phoneNumber?: string; campaignId?: string }
    if (input.phoneNumber !== phoneNumber) return telnyxError(400, "10015", "phoneNumber is required")
    if (input.campaignId === undefined || !campaigns.has(input.campaignId)) {
      return telnyxError(400, "10015", "Campaign not found")
    }
    if (owned.get(phoneNumber)?.status !== "active") return telnyxError(400, "10015", "Phone number is not active on this account")
    const assignment: FakeAssignment = { campaignId: input.campaignId, status: "PENDING_ASSIGNMENT", looksLeft: settings.pendingLooks }
    assignments.set(phoneNumber, assignment)
    return { status: 200, body: assignmentBody(phoneNumber, assignment) }
  }

  const server = await startFakeHttp({
    token: options.apiKey,
    handle: ({ method, path, query, body }) => {
      if (path === "/v2/available_phone_numbers" && method === "GET") {
        const features = query.get("filter[features]")?.split(",") ?? []
        if (query.get("filter[country_code]") !== "US") return { status: 200, body: { data: [], metadata: { total_results: 0 } } }
        const limit = Number(query.get("filter[limit]") ?? 20)
        const offered = inventory.filter((number) => !features.includes("sms") || !voiceOnly.has(number))
        const data = offered.slice(0, limit).map((phone_number) => ({
          record_type: "available_phone_number",
          phone_number,
          features: voiceOnly.has(phone_number) ? [{ name: "voice" }] : [{ name: "sms" }, { name: "voice" }],
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
          id: fakeId("pn"),
          customerReference: null,
          messagingProfileId: input.messaging_profile_id ?? null,
          status: "purchase-pending",
        })
        const order: FakeNumberOrder = {
          id: fakeId("order"),
          customerReference: input.customer_reference ?? null,
          phoneNumber: wanted,
          status: "pending",
          looksLeft: settings.pendingLooks,
        }
        orders.set(order.id, order)
        return { status: 200, body: { data: orderBody(order) } }
      }
      if (path === "/v2/number_orders" && method === "GET") {
        const reference = query.get("filter[customer_reference]")
        const data = [...orders.values()]
          .filter((order) => reference === null || order.customerReference === reference)
          .map(orderBody)
        return { status: 200, body: { data, meta: { total_results: data.length, page_number: 1, total_pages: 1 } } }
      }
      const orderMatch = /^\/v2\/number_orders\/([^/]+)$/.exec(path)
      if (orderMatch !== null && method === "GET") {
        const order = orders.get(orderMatch[1]!)
        if (order === undefined) return telnyxError(404, "10005", "Resource not found")
        look(order)
        return { status: 200, body: { data: orderBody(order) } }
      }
      if (path === "/v2/phone_numbers" && method === "GET") {
        const number = query.get("filter[phone_number]")
        const data = [...owned.entries()]
          .filter(([phoneNumber]) => number === null || phoneNumber === number)
          .map(([phone_number, details]) => {
            // Seen as it is now; a bought number turns active after a few looks.
            const seen = { status: details.status }
            if (details.activationLooksLeft !== undefined) {
              details.activationLooksLeft -= 1
              if (details.activationLooksLeft <= 0) {
                details.status = "active"
                delete details.activationLooksLeft
              }
            }
            return [phone_number, { ...details, ...seen }] as const
          })
          .map(([phone_number, details]) => ({
            id: details.id,
            record_type: "phone_number",
            phone_number,
            status: details.status,
            customer_reference: details.customerReference,
            messaging_profile_id: details.messagingProfileId,
          }))
        return { status: 200, body: { data, meta: { total_results: data.length } } }
      }
      const numberMatch = /^\/v2\/phone_numbers\/([^/]+)$/.exec(path)
      if (numberMatch !== null && method === "DELETE") {
        const entry = [...owned.entries()].find(([, details]) => details.id === numberMatch[1])
        if (entry === undefined) return telnyxError(404, "10005", "Resource not found")
        owned.delete(entry[0])
        assignments.delete(entry[0])
        deleted.push(entry[0])
        return { status: 200, body: { data: { id: entry[1].id, phone_number: entry[0], status: "deleted" } } }
      }
      if (path === "/v2/10dlc/phone_number_campaigns" && method === "POST") {
        const phoneNumber = (body as { phoneNumber?: string } | undefined)?.phoneNumber ?? ""
        if (assignments.has(phoneNumber)) return telnyxError(400, "10015", "Phone number is already assigned to a campaign")
        return assign(phoneNumber, body)
      }
      const assignmentMatch = /^\/v2\/10dlc\/phone_number_campaigns\/([^/]+)$/.exec(path)
      if (assignmentMatch !== null) {
        const phoneNumber = assignmentMatch[1]!
        if (method === "PUT") return assign(phoneNumber, body)
        const assignment = assignments.get(phoneNumber)
        if (method === "GET") {
          if (assignment === undefined) return telnyxError(404, "10005", "Resource not found")
          lookAssignment(phoneNumber, assignment)
          return { status: 200, body: assignmentBody(phoneNumber, assignment) }
        }
      }
      if (path === "/v2/messages" && method === "POST") {
        const input = (body ?? {}) as { from?: string; to?: string; text?: string; messaging_profile_id?: string }
        if (input.from === undefined || owned.get(input.from)?.status !== "active") {
          return telnyxError(422, "40305", "Invalid 'from' address")
        }
        if (input.to === undefined || input.text === undefined) return telnyxError(422, "10015", "to and text are required")
        let from = input.from
        if (input.messaging_profile_id !== undefined && numberPoolProfiles.has(input.messaging_profile_id)) {
          const other = [...owned.entries()].find(([number, details]) =>
            number !== input.from && details.messagingProfileId === input.messaging_profile_id && details.status === "active"
          )
          if (other !== undefined) from = other[0]
        }
        const message: FakeSms = {
          id: fakeId("sms"),
          from,
          to: input.to,
          text: input.text,
          status: assignments.get(from)?.status === "ASSIGNED" ? "queued" : "failed",
        }
        messages.push(message)
        return {
          status: 200,
          body: { data: { id: message.id, record_type: "message", direction: "outbound", from: { phone_number: from } } },
        }
      }
      return telnyxError(404, "10005", `no route ${method} ${path}`)
    },
  })
  return Object.assign(server, {
    apiUrl: `${server.url}/v2`,
    inventory,
    voiceOnly,
    owned,
    orders,
    failOnOrder,
    campaigns,
    assignments,
    failAssignment,
    numberPoolProfiles,
    messages,
    deleted,
    takenOnOrder,
    settings,
    own: (phoneNumber: string, messagingProfileId?: string) => {
      owned.set(phoneNumber, { id: fakeId("pn"), customerReference: null, messagingProfileId: messagingProfileId ?? null, status: "active" })
    },
    clear: () => {
      inventory.length = 0
      messages.length = 0
      deleted.length = 0
      for (const table of [voiceOnly, owned, orders, failOnOrder, campaigns, assignments, failAssignment, numberPoolProfiles, takenOnOrder]) {
        table.clear()
      }
      settings.pendingLooks = 1
      settings.activationLooks = 1
    },
  })
}
