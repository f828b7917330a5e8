import { Config, Context, Duration, Effect, Layer, Option, Random, Redacted, Schedule, Schema } from "effect"
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
 * A Telnyx phone number per agent (API v2). Numbers cost money and take time to buy, so they are kept: released
 * numbers go back to `phone_number_pool` (sql/0003_providers.sql) and the next agent reuses one (claimed with
 * FOR UPDATE SKIP LOCKED) before anything is bought. Buying = search available US SMS numbers, order a random one
 * with `customer_reference = <prefix><instanceId>`; a taken number (409/422) means search again. After an ambiguous
 * order failure (5xx, timeout) the order is looked up by that reference before trying again, so a number is never
 * bought twice, and a number bought by a pool that then died is found by `find` and released into the pool table.
 */

export const tool = "telnyx"

export interface TelnyxOptions {
  readonly apiUrl: string
  readonly apiKey: Redacted.Redacted<string>
  readonly messagingProfileId: string
  readonly countryCode: string
  readonly namePrefix: string
  /** Search-and-order rounds before giving up (each round: one search, one order). */
  readonly orderAttempts: number
  readonly requestTimeout: Duration.Input
  readonly retryBase: Duration.Input
}

export interface SentSms {
  readonly messageId: string
}

const AvailableNumbers = Schema.Struct({ data: Schema.Array(Schema.Struct({ phone_number: Schema.String })) })
const NumberOrder = Schema.Struct({
  data: Schema.Struct({ id: Schema.String, phone_numbers: Schema.Array(Schema.Struct({ phone_number: Schema.String })) }),
})
const OwnedNumbers = Schema.Struct({ data: Schema.Array(Schema.Struct({ phone_number: Schema.String })) })
const SentMessage = Schema.Struct({ data: Schema.Struct({ id: Schema.String }) })

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

      const orderedFor = (reference: string) =>
        rest("listPhoneNumbers", {
          method: "GET",
          path: "/phone_numbers",
          query: { "filter[customer_reference]": reference, "page[size]": "10" },
        }).pipe(
          Effect.retry(transientRetry(options.retryBase)),
          Effect.flatMap((response) => decodeBody("listPhoneNumbers", OwnedNumbers)(response.body)),
          Effect.map((owned) => Option.fromNullishOr(owned.data[0]?.phone_number)),
        )

      /** One round: search, pick at random (concurrent pools rarely pick the same), order. */
      const orderOnce = (reference: string) =>
        Effect.gen(function*() {
          const available = yield* rest("searchNumbers", {
            method: "GET",
            path: "/available_phone_numbers",
            query: {
              "filter[country_code]": options.countryCode,
              "filter[features][]": ["sms"],
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
          const order = yield* rest("orderNumber", {
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
            Effect.catchIf(
              (error) => error.retryable,
              // 5xx or timeout: the order may have gone through. Look before ordering another number.
              (error) =>
                Effect.flatMap(orderedFor(reference), (owned) =>
                  Option.isSome(owned)
                    ? Effect.succeed({ data: { id: "unknown", phone_numbers: [{ phone_number: owned.value }] } })
                    : Effect.fail(error)),
            ),
          )
          const bought = order.data.phone_numbers[0]?.phone_number
          if (bought === undefined) {
            return yield* new RestCallError({ operation: "orderNumber", message: "order holds no number", retryable: false })
          }
          return bought
        })

      /** Rounds until a number is bought: taken numbers (409/422) and transient failures start a new round. */
      const buy = (reference: string) =>
        orderOnce(reference).pipe(
          Effect.retry({
            schedule: buyRetry(options.retryBase, options.orderAttempts - 1),
            while: (error) => error.retryable || error.status === 409 || error.status === 422,
          }),
        )

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
          // If this write is lost (crash), `find` sees the number at Telnyx by its customer reference.
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
        return {
          resourceId: phoneNumber,
          env: { TELNYX_PHONE_NUMBER: Redacted.make(phoneNumber) },
          meta: { messagingProfileId: options.messagingProfileId, source },
        } satisfies CreatedResource
      })

      const release = Effect.fn("Telnyx.release")(function*(instanceId: string, phoneNumber: string) {
        yield* numbers.release(phoneNumber, options.messagingProfileId, instanceId).pipe(
          Effect.mapError(dbError("release")),
        )
      })

      const find = Effect.fn("Telnyx.find")(function*(instanceId: string) {
        const assigned = yield* numbers.assignedTo(instanceId).pipe(Effect.mapError(dbError("find")))
        if (Option.isSome(assigned)) return assigned
        return yield* orderedFor(referenceOf(instanceId)).pipe(Effect.mapError(toToolError(tool, "find")))
      })

      const sendSms = Effect.fn("Telnyx.sendSms")(
        function*(from: string, message: { readonly to: string; readonly text: string }) {
          const sent = yield* rest("sendMessage", {
            method: "POST",
            path: "/messages",
            body: { from, to: message.to, text: message.text, messaging_profile_id: options.messagingProfileId },
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
    apiUrl: Config.String("TELNYX_API_URL").pipe(Config.withDefault("https://api.telnyx.com/v2")),
    countryCode: Config.String("TELNYX_COUNTRY_CODE").pipe(Config.withDefault("US")),
    namePrefix: Config.String("TELNYX_REFERENCE_PREFIX").pipe(Config.withDefault("convos-agent-")),
  }).pipe(Config.map((values): TelnyxOptions => ({
    ...values,
    orderAttempts: 4,
    requestTimeout: Duration.seconds(20),
    retryBase: Duration.seconds(2),
  })))

  /** Needs a `SqlClient` on a database migrated with sql/0003_providers.sql. */
  static readonly layerWith = (options: TelnyxOptions) =>
    Layer.effect(Telnyx, Telnyx.make(options)).pipe(Layer.provide(FetchHttpClient.layer))

  /** From `TELNYX_*` configuration; fails to build without `TELNYX_API_KEY` and `TELNYX_MESSAGING_PROFILE_ID`. */
  static readonly layer = Layer.unwrap(Effect.gen(function*() {
    return Telnyx.layerWith(yield* Telnyx.config)
  }))
}

/** Between search-and-order rounds: a taken number needs only a fresh search, a 5xx a moment. */
const buyRetry = (base: Duration.Input, times: number) =>
  Schedule.exponential(base).pipe(Schedule.upTo({ times: Math.max(0, times) }))
