import { Clock, Config, Context, Duration, Effect, Layer, Option, Random, Redacted, Schedule, Schema } from "effect"
import { FetchHttpClient, HttpClient } from "effect/http"
import { SqlClient } from "effect/sql"
import {
  decodeBody,
  makeRest,
  rateLimitRetry,
  RestCallError,
  toToolError,
  transientRetry,
} from "./providerRest.ts"
import { type CreatedResource, ToolError, type ToolProvider } from "./ToolProvider.ts"

/**
 * A Telnyx phone number per agent (API v2), usable for SMS in the US only when it is on a registered 10DLC campaign.
 *
 * Buying is asynchronous, as Telnyx documents it: search (`filter[features]=sms`), order a random pick with
 * `customer_reference = <prefix><instanceId>`, then wait for the order to leave `pending`: `success` gives the number,
 * `failure` (or a number taken meanwhile, 409/422) starts a new search round. After an ambiguous order failure (5xx,
 * timeout) or a crash, the order is found again by its reference (`GET /number_orders?filter[customer_reference]=`, the
 * documented filter; that the reference is copied onto the number is not documented, so it is never relied on).
 * Once the number leaves `purchase-pending` for `active`, it is assigned to `TELNYX_10DLC_CAMPAIGN_ID`
 * (`POST /10dlc/phone_number_campaigns`) and the agent gets it only once Telnyx reports the assignment `ASSIGNED`:
 * carriers filter texts from numbers on no campaign while the send itself still answers 200. Without a campaign setting
 * SMS stays off (`smsSetting`).
 *
 * Release deletes the number at Telnyx (`DELETE /phone_numbers/{id}`), so it stops billing. With
 * `TELNYX_KEEP_RELEASED_NUMBERS=true` it goes back to `phone_number_pool` (sql/0003_providers.sql) instead, keeps billing,
 * and the next agent reuses it (claimed with FOR UPDATE SKIP LOCKED, its campaign assignment checked again).
 *
 * About 500 lines, over the usual 400: one number's life (order, activation, campaign, reuse, release, recovery) shares
 * the same polling and retry helpers and the pool table; split apart, each piece would need them all.
 *
 * Hand-written REST rather than the official `telnyx` SDK: every call goes through `providerRest` so the pool's policy
 * holds in one place (no resend of an order or a message after a 5xx, `x-ratelimit-reset` honoured, errors that say
 * whether a retry may help, Effect timeouts and interruption); the SDK retries 5xx itself and hides those headers behind
 * its own errors. The paths and fields follow the SDK's types (telnyx 7.24.0); the fake is held to the SDK by
 * test/fakes/sdkConformance.test.ts.
 */

export const tool = "telnyx"

export interface TelnyxOptions {
  readonly apiUrl: string
  readonly apiKey: Redacted.Redacted<string>
  /** The profile numbers are ordered into (it carries the inbound and delivery webhooks); never set on sends. */
  readonly messagingProfileId: string
  /** The registered 10DLC campaign every number is assigned to before an agent gets it. */
  readonly campaignId: string
  readonly countryCode: string
  readonly namePrefix: string
  /** Search-and-order rounds before giving up (each round: one search, one order). */
  readonly orderAttempts: number
  readonly requestTimeout: Duration.Input
  readonly retryBase: Duration.Input
  /** Between looks at a pending order or campaign assignment. */
  readonly pollInterval: Duration.Input
  /** How long an order or an assignment may stay pending before the create fails (retryable; a retry finds it again). */
  readonly pendingLimit: Duration.Input
  /** Keep released numbers in `phone_number_pool` for reuse (they keep billing) instead of deleting them at Telnyx. */
  readonly keepReleasedNumbers: boolean
}

export interface SentSms {
  readonly messageId: string
}

const AvailableNumbers = Schema.Struct({ data: Schema.Array(Schema.Struct({ phone_number: Schema.String })) })
const OrderStatus = Schema.Literals(["pending", "success", "failure"])
const NumberOrderData = Schema.Struct({
  id: Schema.String,
  status: OrderStatus,
  phone_numbers: Schema.Array(Schema.Struct({ phone_number: Schema.String })),
})
const NumberOrder = Schema.Struct({ data: NumberOrderData })
const NumberOrders = Schema.Struct({ data: Schema.Array(NumberOrderData) })
const OwnedNumbers = Schema.Struct({
  data: Schema.Array(Schema.Struct({ id: Schema.String, phone_number: Schema.String, status: Schema.optional(Schema.String) })),
})
const Assignment = Schema.Struct({
  campaignId: Schema.String,
  assignmentStatus: Schema.optional(Schema.String),
  failureReasons: Schema.optional(Schema.NullOr(Schema.String)),
})
const SentMessage = Schema.Struct({ data: Schema.Struct({ id: Schema.String }) })

/**
 * Whether SMS is on, from the two settings it needs. A key without a campaign is a mistake worth saying out loud:
 * numbers would be bought whose texts carriers silently drop.
 */
export const smsSetting = (
  apiKey: string | undefined,
  campaignId: string | undefined,
): { readonly on: true } | { readonly on: false; readonly reason: string | undefined } => {
  if (apiKey === undefined || apiKey.trim() === "") return { on: false, reason: undefined }
  if (campaignId === undefined || campaignId.trim() === "") {
    return {
      on: false,
      reason: "SMS is off: TELNYX_API_KEY is set but TELNYX_10DLC_CAMPAIGN_ID is not. US carriers block texts from " +
        "numbers on no registered 10DLC campaign, so the pool buys no numbers until a campaign is set.",
    }
  }
  return { on: true }
}

/** What the pool table says of numbers; plain SQL, no provider call. */
const makeNumberPool = (sql: SqlClient.SqlClient) => ({
  assignedTo: (instanceId: string) =>
    Effect.map(
      sql<{ phone_number: string }>`SELECT phone_number FROM phone_number_pool WHERE instance_id = ${instanceId}`,
      (rows) => Option.fromNullishOr(rows[0]?.phone_number),
    ),
  /** Takes the least recently released available number for this instance, skipping rows others are claiming. */
  claimAvailable: (instanceId: string) =>
    Effect.map(
      sql<{ phone_number: string }>`
        UPDATE phone_number_pool
        SET status = 'assigned', instance_id = ${instanceId}, updated_at = now()
        WHERE phone_number = (
          SELECT phone_number FROM phone_number_pool
          WHERE status = 'available'
          ORDER BY updated_at
          LIMIT 1
          FOR UPDATE SKIP LOCKED
        )
        RETURNING phone_number`,
      (rows) => Option.fromNullishOr(rows[0]?.phone_number),
    ),
  recordBought: (phoneNumber: string, messagingProfileId: string, instanceId: string) =>
    sql<{ phone_number: string }>`
      INSERT INTO phone_number_pool (phone_number, messaging_profile_id, status, instance_id)
      VALUES (${phoneNumber}, ${messagingProfileId}, 'assigned', ${instanceId})
      ON CONFLICT (phone_number) DO UPDATE
      SET status = 'assigned', instance_id = EXCLUDED.instance_id, updated_at = now()
      WHERE phone_number_pool.status = 'available' OR phone_number_pool.instance_id = EXCLUDED.instance_id
      RETURNING phone_number`,
  /**
   * Back to the pool, but only from this instance: a stale release must not free a number someone else now holds.
   * A number the table never saw (bought by a pool that died) is added as available.
   */
  release: (phoneNumber: string, messagingProfileId: string, instanceId: string) =>
    sql`
      INSERT INTO phone_number_pool (phone_number, messaging_profile_id, status, instance_id)
      VALUES (${phoneNumber}, ${messagingProfileId}, 'available', NULL)
      ON CONFLICT (phone_number) DO UPDATE
      SET status = 'available', instance_id = NULL, updated_at = now()
      WHERE phone_number_pool.instance_id = ${instanceId}`,
  /** Who holds a number now (none: the table never saw it). */
  holderOf: (phoneNumber: string) =>
    Effect.map(
      sql<{ instance_id: string | null }>`SELECT instance_id FROM phone_number_pool WHERE phone_number = ${phoneNumber}`,
      (rows) => rows.length === 0 ? Option.none<string | null>() : Option.some(rows[0]!.instance_id),
    ),
  /** Forgets a number deleted at Telnyx, unless someone else holds it now. */
  forget: (phoneNumber: string, instanceId: string) =>
    sql`DELETE FROM phone_number_pool
      WHERE phone_number = ${phoneNumber} AND (instance_id = ${instanceId} OR instance_id IS NULL)`,
})

export class Telnyx extends Context.Service<Telnyx, {
  readonly tool: ToolProvider
  /** Sends an SMS from one of the pool's numbers (the caller has checked it is the instance's own). */
  sendSms(from: string, message: { readonly to: string; readonly text: string }): Effect.Effect<SentSms, ToolError>
}>()("pool/resources/Telnyx") {
  static readonly make = (options: TelnyxOptions) =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const numbers = makeNumberPool(sql)
      const rest = makeRest(yield* HttpClient.HttpClient, {
        baseUrl: options.apiUrl,
        key: options.apiKey,
        requestTimeout: options.requestTimeout,
      })
      const referenceOf = (instanceId: string) => `${options.namePrefix}${instanceId}`
      const dbError = (operation: string) => (error: { readonly message: string }) =>
        new ToolError({ tool, operation, message: `database: ${error.message}`, retryable: true })

      /** Looks until `look` gives a value; a pending state past `pendingLimit` is a retryable failure. */
      const poll = <A>(operation: string, what: string, look: Effect.Effect<Option.Option<A>, RestCallError>) =>
        Effect.gen(function*() {
          const deadline = (yield* Clock.currentTimeMillis) + Duration.toMillis(Duration.fromInputUnsafe(options.pendingLimit))
          for (;;) {
            const seen = yield* look
            if (Option.isSome(seen)) return seen.value
            if ((yield* Clock.currentTimeMillis) >= deadline) {
              return yield* new RestCallError({
                operation,
                message: `${what} still pending after ${Duration.format(Duration.fromInputUnsafe(options.pendingLimit))}`,
                retryable: true,
              })
            }
            yield* Effect.sleep(options.pollInterval)
          }
        })

      /** Orders placed with this reference that may give a number (pending or successful), oldest first. */
      const liveOrdersFor = (reference: string) =>
        rest("listNumberOrders", {
          method: "GET",
          path: "/number_orders",
          query: { "filter[customer_reference]": reference, "page[size]": "20" },
        }).pipe(
          Effect.retry(transientRetry(options.retryBase)),
          Effect.flatMap((response) => decodeBody("listNumberOrders", NumberOrders)(response.body)),
          Effect.map((orders) => orders.data.filter((order) => order.status !== "failure")),
        )

      /** Waits for an order to leave `pending`; a failed order is a retryable error (a new search round). */
      const awaitOrder = (orderId: string) =>
        poll("awaitOrder", `number order ${orderId}`, rest("getNumberOrder", {
          method: "GET",
          path: `/number_orders/${encodeURIComponent(orderId)}`,
        }).pipe(
          Effect.retry(transientRetry(options.retryBase)),
          Effect.flatMap((response) => decodeBody("getNumberOrder", NumberOrder)(response.body)),
          Effect.map((order) => order.data.status === "pending" ? Option.none() : Option.some(order.data)),
        )).pipe(
          Effect.flatMap((order) => {
            const bought = order.phone_numbers[0]?.phone_number
            if (order.status === "failure") {
              return Effect.fail(new RestCallError({ operation: "awaitOrder", message: `number order ${orderId} failed`, retryable: true }))
            }
            return bought === undefined
              ? Effect.fail(new RestCallError({ operation: "awaitOrder", message: `order ${orderId} holds no number`, retryable: false }))
              : Effect.succeed(bought)
          }),
        )

      /** One round: search, pick at random (concurrent pools rarely pick the same), order, wait for the order. */
      const orderOnce = (reference: string) =>
        Effect.gen(function*() {
          const available = yield* rest("searchNumbers", {
            method: "GET",
            path: "/available_phone_numbers",
            query: {
              "filter[country_code]": options.countryCode,
              // The documented comma form; `filter[features][]` is not Telnyx's syntax.
              "filter[features]": "sms",
              "filter[limit]": "20",
            },
          }).pipe(
            Effect.retry(transientRetry(options.retryBase)),
            Effect.flatMap((response) => decodeBody("searchNumbers", AvailableNumbers)(response.body)),
          )
          if (available.data.length === 0) {
            return yield* new RestCallError({
              operation: "searchNumbers",
              message: `no ${options.countryCode} SMS numbers available`,
              retryable: true,
            })
          }
          const pick = available.data[yield* Random.nextIntBetween(0, available.data.length, { halfOpen: true })]!.phone_number
          const orderId = yield* rest("orderNumber", {
            method: "POST",
            path: "/number_orders",
            body: {
              phone_numbers: [{ phone_number: pick }],
              messaging_profile_id: options.messagingProfileId,
              customer_reference: reference,
            },
          }).pipe(
            Effect.retry(rateLimitRetry(options.retryBase)),
            Effect.flatMap((response) => decodeBody("orderNumber", NumberOrder)(response.body)),
            Effect.map((order) => order.data.id),
            Effect.catchIf(
              (error) => error.retryable,
              // 5xx or timeout: the order may have gone through. Look before ordering another number.
              (error) =>
                Effect.flatMap(liveOrdersFor(reference), (orders) =>
                  orders[0] !== undefined ? Effect.succeed(orders[0].id) : Effect.fail(error)),
            ),
          )
          return yield* awaitOrder(orderId)
        })

      /** Rounds until a number is bought: failed orders, taken numbers (409/422) and transient failures start anew. */
      const buy = (reference: string) =>
        Effect.gen(function*() {
          // A create that ran before (a crash, a pending order past the limit) left its order: finish that one.
          const earlier = yield* liveOrdersFor(reference)
          if (earlier[0] !== undefined) {
            const recovered = yield* awaitOrder(earlier[0].id).pipe(Effect.option)
            if (Option.isSome(recovered)) return recovered.value
          }
          return yield* orderOnce(reference).pipe(
            Effect.retry({
              schedule: buyRetry(options.retryBase, options.orderAttempts - 1),
              while: (error) => error.retryable || error.status === 409 || error.status === 422,
            }),
          )
        })

      /** A number the account owns (purchase-pending or active); none once it is released. */
      const owned = (phoneNumber: string) =>
        rest("findPhoneNumber", {
          method: "GET",
          path: "/phone_numbers",
          query: { "filter[phone_number]": phoneNumber },
        }).pipe(
          Effect.retry(transientRetry(options.retryBase)),
          Effect.flatMap((response) => decodeBody("findPhoneNumber", OwnedNumbers)(response.body)),
          Effect.map((found) => Option.fromNullishOr(found.data.find((number) => number.phone_number === phoneNumber))),
        )
      const ownedId = (phoneNumber: string) => Effect.map(owned(phoneNumber), Option.map((number) => number.id))

      /** A bought number stays `purchase-pending` a while after its order succeeds; only an active one joins a campaign. */
      const awaitActive = (phoneNumber: string) =>
        poll("awaitActive", `number ${phoneNumber}`, Effect.map(owned(phoneNumber), (number) =>
          Option.isNone(number) || number.value.status === "active" ? Option.some(number) : Option.none()
        )).pipe(
          Effect.flatMap((number) =>
            Option.isSome(number)
              ? Effect.void
              : Effect.fail(new RestCallError({ operation: "awaitActive", message: `${phoneNumber} is not on the account`, retryable: false }))
          ),
        )

      const assignmentPath = (phoneNumber: string) => `/10dlc/phone_number_campaigns/${encodeURIComponent(phoneNumber)}`
      const getAssignment = (phoneNumber: string) =>
        rest("getCampaignAssignment", { method: "GET", path: assignmentPath(phoneNumber), accept: [404] }).pipe(
          Effect.retry(transientRetry(options.retryBase)),
          Effect.flatMap((response) =>
            response.status === 404
              ? Effect.succeed(Option.none<typeof Assignment.Type>())
              : Effect.map(decodeBody("getCampaignAssignment", Assignment)(response.body), Option.some)
          ),
        )

      /** Puts the number on our 10DLC campaign (unless it is already there) and waits until Telnyx says `ASSIGNED`. */
      const ensureAssigned = (phoneNumber: string) =>
        Effect.gen(function*() {
          const current = yield* getAssignment(phoneNumber)
          const body = { phoneNumber, campaignId: options.campaignId }
          if (
            Option.isSome(current) && current.value.campaignId === options.campaignId &&
            current.value.assignmentStatus === "ASSIGNED"
          ) return
          if (Option.isNone(current)) {
            yield* awaitActive(phoneNumber)
            yield* rest("assignCampaign", { method: "POST", path: "/10dlc/phone_number_campaigns", body }).pipe(
              Effect.retry(rateLimitRetry(options.retryBase)),
              // A 5xx may have assigned it: the look below tells.
              Effect.catchIf((error) => error.retryable, () => Effect.void),
            )
          } else if (current.value.campaignId !== options.campaignId) {
            yield* rest("assignCampaign", { method: "PUT", path: assignmentPath(phoneNumber), body }).pipe(
              Effect.retry(rateLimitRetry(options.retryBase)),
            )
          }
          const settled = yield* poll(
            "awaitCampaignAssignment",
            `10DLC assignment of ${phoneNumber}`,
            Effect.map(getAssignment(phoneNumber), (seen) =>
              Option.filter(seen, (assignment) =>
                assignment.assignmentStatus === "ASSIGNED" || assignment.assignmentStatus === "FAILED_ASSIGNMENT")),
          )
          if (settled.assignmentStatus === "FAILED_ASSIGNMENT") {
            return yield* new RestCallError({
              operation: "assignCampaign",
              message: `Telnyx could not assign ${phoneNumber} to campaign ${options.campaignId}: ${settled.failureReasons ?? "no reason given"}`,
              retryable: false,
            })
          }
        })

      const create = Effect.fn("Telnyx.create")(function*(instanceId: string) {
        const assigned = yield* numbers.assignedTo(instanceId).pipe(Effect.mapError(dbError("create")))
        const reused = Option.isSome(assigned)
          ? assigned
          : yield* numbers.claimAvailable(instanceId).pipe(Effect.mapError(dbError("create")))
        let phoneNumber: string
        let source: "pool" | "bought"
        if (Option.isSome(reused)) {
          phoneNumber = reused.value
          source = "pool"
        } else {
          phoneNumber = yield* buy(referenceOf(instanceId)).pipe(Effect.mapError(toToolError(tool, "create")))
          source = "bought"
          // If this write is lost (crash), `find` sees the order at Telnyx by its customer reference.
          const recorded = yield* numbers.recordBought(phoneNumber, options.messagingProfileId, instanceId).pipe(
            Effect.mapError(dbError("create")),
          )
          if (recorded.length === 0) {
            return yield* new ToolError({
              tool,
              operation: "create",
              message: `bought ${phoneNumber}, but the pool table has it assigned to another instance`,
              retryable: false,
            })
          }
        }
        // The agent gets its number only once carriers will carry its texts.
        yield* ensureAssigned(phoneNumber).pipe(Effect.mapError(toToolError(tool, "create")))
        return {
          resourceId: phoneNumber,
          env: { TELNYX_PHONE_NUMBER: Redacted.make(phoneNumber) },
          meta: { messagingProfileId: options.messagingProfileId, campaignId: options.campaignId, source },
        } satisfies CreatedResource
      })

      /** Deletes the number at Telnyx; one Telnyx no longer has is already released. */
      const deleteAtTelnyx = (phoneNumber: string) =>
        Effect.gen(function*() {
          const found = yield* ownedId(phoneNumber)
          if (Option.isNone(found)) return
          const id = found.value
          yield* rest("deletePhoneNumber", { method: "DELETE", path: `/phone_numbers/${encodeURIComponent(id)}`, accept: [404] })
            .pipe(Effect.retry(transientRetry(options.retryBase)))
        })

      const release = Effect.fn("Telnyx.release")(function*(instanceId: string, phoneNumber: string) {
        const holder = yield* numbers.holderOf(phoneNumber).pipe(Effect.mapError(dbError("release")))
        // A stale release must not take a number someone else now holds.
        if (Option.isSome(holder) && holder.value !== null && holder.value !== instanceId) return
        if (options.keepReleasedNumbers) {
          yield* numbers.release(phoneNumber, options.messagingProfileId, instanceId).pipe(Effect.mapError(dbError("release")))
          return
        }
        yield* deleteAtTelnyx(phoneNumber).pipe(Effect.mapError(toToolError(tool, "release")))
        yield* numbers.forget(phoneNumber, instanceId).pipe(Effect.mapError(dbError("release")))
      })

      const find = Effect.fn("Telnyx.find")(function*(instanceId: string) {
        const assigned = yield* numbers.assignedTo(instanceId).pipe(Effect.mapError(dbError("find")))
        if (Option.isSome(assigned)) return assigned
        // An order outlives its number: only a number the account still owns is this instance's.
        return yield* Effect.gen(function*() {
          const orders = yield* liveOrdersFor(referenceOf(instanceId))
          for (const { phone_number } of orders.flatMap((order) => order.phone_numbers)) {
            if (Option.isSome(yield* ownedId(phone_number))) return Option.some(phone_number)
          }
          return Option.none<string>()
        }).pipe(Effect.mapError(toToolError(tool, "find")))
      })

      const sendSms = Effect.fn("Telnyx.sendSms")(
        function*(from: string, message: { readonly to: string; readonly text: string }) {
          const sent = yield* rest("sendMessage", {
            method: "POST",
            path: "/messages",
            // No messaging_profile_id: with a number pool on the profile, Telnyx may send from another agent's number.
            body: { from, to: message.to, text: message.text },
          }).pipe(
            // Never resend after a 5xx or timeout: the recipient may get the text twice.
            Effect.retry(rateLimitRetry(options.retryBase)),
            Effect.flatMap((response) => decodeBody("sendMessage", SentMessage)(response.body)),
          )
          return { messageId: sent.data.id } satisfies SentSms
        },
        (effect) => Effect.mapError(effect, toToolError(tool, "sendSms")),
      )

      return Telnyx.of({
        tool: { tool, envKeys: ["TELNYX_PHONE_NUMBER"], create, release, find },
        sendSms,
      })
    })

  static readonly config = Config.all({
    apiKey: Config.Redacted("TELNYX_API_KEY"),
    messagingProfileId: Config.String("TELNYX_MESSAGING_PROFILE_ID"),
    campaignId: Config.String("TELNYX_10DLC_CAMPAIGN_ID"),
    apiUrl: Config.String("TELNYX_API_URL").pipe(Config.withDefault("https://api.telnyx.com/v2")),
    countryCode: Config.String("TELNYX_COUNTRY_CODE").pipe(Config.withDefault("US")),
    namePrefix: Config.String("TELNYX_REFERENCE_PREFIX").pipe(Config.withDefault("convos-agent-")),
    keepReleasedNumbers: Config.Boolean("TELNYX_KEEP_RELEASED_NUMBERS").pipe(Config.withDefault(false)),
  }).pipe(Config.map((values): TelnyxOptions => ({
    ...values,
    orderAttempts: 4,
    requestTimeout: Duration.seconds(20),
    retryBase: Duration.seconds(2),
    pollInterval: Duration.seconds(3),
    pendingLimit: Duration.minutes(3),
  })))

  /** Why SMS is off when `TELNYX_API_KEY` is set without `TELNYX_10DLC_CAMPAIGN_ID` (none otherwise). */
  static readonly offReason = Config.all({
    apiKey: Config.option(Config.String("TELNYX_API_KEY")),
    campaignId: Config.option(Config.String("TELNYX_10DLC_CAMPAIGN_ID")),
  }).pipe(Config.map(({ apiKey, campaignId }) => {
    const setting = smsSetting(Option.getOrUndefined(apiKey), Option.getOrUndefined(campaignId))
    return setting.on ? undefined : setting.reason
  }))

  /** Needs a `SqlClient` on a database migrated with sql/0003_providers.sql. */
  static readonly layerWith = (options: TelnyxOptions) =>
    Layer.effect(Telnyx, Telnyx.make(options)).pipe(Layer.provide(FetchHttpClient.layer))

  /**
   * From `TELNYX_*` configuration; fails to build without `TELNYX_API_KEY`, `TELNYX_MESSAGING_PROFILE_ID` and
   * `TELNYX_10DLC_CAMPAIGN_ID`.
   */
  static readonly layer = Layer.unwrap(Effect.gen(function*() {
    return Telnyx.layerWith(yield* Telnyx.config)
  }))
}

/** Between search-and-order rounds: a taken number needs only a fresh search, a 5xx a moment. */
const buyRetry = (base: Duration.Input, times: number) =>
  Schedule.exponential(base).pipe(Schedule.upTo({ times: Math.max(0, times) }))
