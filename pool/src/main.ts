import { NodeRuntime } from "@effect/platform-node"
import { Layer } from "effect"
import { HttpServerFromConfig } from "./http/Server.ts"
import { PoolLive } from "./PoolLive.ts"
import { Reconciler } from "./Reconciler.ts"

/** The pool service: HTTP API + reconcile/replenish loop on the configured database and compute. */
const App = Layer.mergeAll(HttpServerFromConfig, Reconciler.loop).pipe(Layer.provide(PoolLive))

Layer.launch(App).pipe(NodeRuntime.runMain)
