import { Config, Context, Duration, Effect, Layer, type Redacted, Schema } from "effect"
import { HostHealth, paths, type SlotSpec } from "../../contract/index.ts"
import { contractCall, type InstanceCallError } from "./contractHttp.ts"

const SlotCreated = Schema.Struct({ slotId: Schema.String })
const SlotRemoved = Schema.Struct({ removed: Schema.Literal(true) })

/** The pool's side of the host routes (contract/index.ts), with the host's own token, which only the pool holds. */
export class HostClient extends Context.Service<HostClient, {
  /** The whole host in one answer: one call per host per reconcile tick. */
  health(url: string, token: Redacted.Redacted<string>): Effect.Effect<HostHealth, InstanceCallError>
  /** Creates (or re-sends) a slot: its token, its one model key and its tool variables. Idempotent per token. */
  putSlot(url: string, token: Redacted.Redacted<string>, slotId: string, spec: SlotSpec): Effect.Effect<void, InstanceCallError>
  /** Removes a slot (its agent leaves its conversation first). Idempotent: an unknown slot is removed too. */
  deleteSlot(url: string, token: Redacted.Redacted<string>, slotId: string): Effect.Effect<void, InstanceCallError>
}>()("pool/HostClient") {
  static readonly layer = Layer.effect(
    HostClient,
    Effect.gen(function*() {
      const healthTimeout = yield* Config.Duration("POOL_HEALTH_TIMEOUT").pipe(Config.withDefault(Duration.seconds(3)))
      // Removing a bound slot waits (bounded) for its agent to leave the conversation: one XMTP round trip or two.
      const slotTimeout = yield* Config.Duration("POOL_PROVISION_TIMEOUT").pipe(Config.withDefault(Duration.seconds(60)))

      const health = Effect.fn("HostClient.health")(function*(url: string, token: Redacted.Redacted<string>) {
        return yield* contractCall({
          operation: "host health", method: "GET", url: url + paths.hostHealth, token, answer: HostHealth,
          timeout: healthTimeout,
        })
      })
      const putSlot = Effect.fn("HostClient.putSlot")(
        function*(url: string, token: Redacted.Redacted<string>, slotId: string, spec: SlotSpec) {
          yield* contractCall({
            operation: "put slot", method: "PUT", url: url + paths.hostSlot(slotId), token, answer: SlotCreated,
            timeout: slotTimeout, body: spec,
          })
        },
      )
      const deleteSlot = Effect.fn("HostClient.deleteSlot")(
        function*(url: string, token: Redacted.Redacted<string>, slotId: string) {
          yield* contractCall({
            operation: "delete slot", method: "DELETE", url: url + paths.hostSlot(slotId), token, answer: SlotRemoved,
            timeout: slotTimeout,
          })
        },
      )
      return HostClient.of({ health, putSlot, deleteSlot })
    }),
  )
}
