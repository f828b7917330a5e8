import { Layer } from "effect"
import { HttpServerFromConfig } from "./http/Server.ts"
import { launch } from "./launch.ts"
import { PoolLive } from "./PoolLive.ts"
import { Reconciler } from "./Reconciler.ts"

/** The pool service alone (`npm run start:pool`): HTTP API + reconcile/replenish loop. */
launch(Layer.mergeAll(HttpServerFromConfig, Reconciler.loop).pipe(Layer.provide(PoolLive)))
