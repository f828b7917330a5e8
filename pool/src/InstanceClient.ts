import { Config, Context, Duration, Effect, Layer, type Redacted } from "effect"
import {
  ConfigureReply,
  type ConfigureRequest,
  paths,
  ProvisionReply,
  type ProvisionRequest,
  ResetReply,
  SlotHealth,
} from "../../contract/index.ts"
import { contractCall, InstanceCallError } from "./contractHttp.ts"

export { InstanceCallError }

/**
 * The pool's side of the slot routes (contract/index.ts): one agent slot on its host, with the slot's own token.
 * `url` is the host's base URL; every request and answer is encoded and decoded with the contract's schemas.
 */
export class InstanceClient extends Context.Service<InstanceClient, {
  health(url: string, slotId: string, token: Redacted.Redacted<string>): Effect.Effect<SlotHealth, InstanceCallError>
  provision(
    url: string,
    slotId: string,
    token: Redacted.Redacted<string>,
    body: ProvisionRequest,
  ): Effect.Effect<ProvisionReply, InstanceCallError>
  reset(url: string, slotId: string, token: Redacted.Redacted<string>): Effect.Effect<ResetReply, InstanceCallError>
  configure(
    url: string,
    slotId: string,
    token: Redacted.Redacted<string>,
    body: ConfigureRequest,
  ): Effect.Effect<ConfigureReply, InstanceCallError>
}>()("pool/InstanceClient") {
  static readonly layer = Layer.effect(
    InstanceClient,
    Effect.gen(function*() {
      const healthTimeout = yield* Config.Duration("POOL_HEALTH_TIMEOUT").pipe(Config.withDefault(Duration.seconds(3)))
      const provisionTimeout = yield* Config.Duration("POOL_PROVISION_TIMEOUT").pipe(
        Config.withDefault(Duration.seconds(60)),
      )
      const health = Effect.fn("InstanceClient.health")(
        function*(url: string, slotId: string, token: Redacted.Redacted<string>) {
          return yield* contractCall({
            operation: "health", method: "GET", url: url + paths.slotHealth(slotId), token, answer: SlotHealth,
            timeout: healthTimeout,
          })
        },
      )
      const provision = Effect.fn("InstanceClient.provision")(
        function*(url: string, slotId: string, token: Redacted.Redacted<string>, body: ProvisionRequest) {
          return yield* contractCall({
            operation: "provision", method: "POST", url: url + paths.slotProvision(slotId), token, answer: ProvisionReply,
            timeout: provisionTimeout, body,
          })
        },
      )
      const reset = Effect.fn("InstanceClient.reset")(function*(url: string, slotId: string, token: Redacted.Redacted<string>) {
        return yield* contractCall({
          operation: "reset", method: "POST", url: url + paths.slotReset(slotId), token, answer: ResetReply,
          timeout: healthTimeout, body: {},
        })
      })
      const configure = Effect.fn("InstanceClient.configure")(
        function*(url: string, slotId: string, token: Redacted.Redacted<string>, body: ConfigureRequest) {
          // A rename writes the agent's profile into its conversation: one XMTP send, so the provision timeout.
          return yield* contractCall({
            operation: "configure", method: "POST", url: url + paths.slotConfigure(slotId), token, answer: ConfigureReply,
            timeout: provisionTimeout, body,
          })
        },
      )
      return InstanceClient.of({ health, provision, reset, configure })
    }),
  )
}
