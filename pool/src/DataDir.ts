import { Config, Context, Effect, Layer } from "effect"

/**
 * Where the pool keeps its files (`DATA_DIR`, default `.data`): the embedded database, local hosts' state, the
 * token secret and the generated API key. Read once, here; a layer that keeps files asks for this service (the
 * layers provide this same `layer` value, so one build reads it once).
 */
export class DataDir extends Context.Service<DataDir, string>()("pool/DataDir") {
  static readonly layer = Layer.effect(
    DataDir,
    Effect.gen(function*() {
      return DataDir.of(yield* Config.String("DATA_DIR").pipe(Config.withDefault(".data")))
    }),
  )
}
