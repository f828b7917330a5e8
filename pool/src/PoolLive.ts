import { Config, Effect, Layer } from "effect"
import type { SqlClient } from "effect/sql"
import type { ComputeProvider } from "./compute/ComputeProvider.ts"
import { LocalProcess } from "./compute/LocalProcess.ts"
import * as Railway from "./compute/Railway.ts"
import { DataDir } from "./DataDir.ts"
import { Database } from "./db/Database.ts"
import { Claims } from "./db/Claims.ts"
import { Hosts } from "./db/Hosts.ts"
import { Instances } from "./db/Instances.ts"
import { HostClient } from "./HostClient.ts"
import { InstanceClient } from "./InstanceClient.ts"
import { InstanceTokens } from "./InstanceTokens.ts"
import { Pool } from "./Pool.ts"
import { PoolConfig } from "./PoolConfig.ts"
import { PoolProcess } from "./PoolProcess.ts"
import { Reconciler } from "./Reconciler.ts"
import { ResourcesFromConfig } from "./resources/fromConfig.ts"
import { NoResources } from "./resources/none.ts"
import type { ToolProviders } from "./resources/ToolProvider.ts"
import type { ToolProxy } from "./resources/ToolProxy.ts"
import { Templates } from "./web/Templates.ts"

/** `COMPUTE_PROVIDER`: `local` (default, one process per host) or `railway` (one service per host). */
export const ComputeFromConfig: Layer.Layer<ComputeProvider, unknown> = Layer.unwrap(
  Effect.map(
    Config.Literals(["local", "railway"], "COMPUTE_PROVIDER").pipe(Config.withDefault("local" as const)),
    (kind) => kind === "railway" ? Railway.layer : LocalProcess,
  ),
)

/**
 * The pool core over a SqlClient: repositories, the pool, the reconciler. Compute and tool providers are
 * parameters, so tests and the product choose them.
 */
export const PoolCore = (
  compute: Layer.Layer<ComputeProvider, unknown>,
  resources: Layer.Layer<ToolProviders | ToolProxy, unknown, SqlClient.SqlClient> = NoResources,
) => {
  const base = Layer.mergeAll(
    Instances.layer,
    Hosts.layer,
    Claims.layer.pipe(Layer.provide(PoolProcess.layer)),
    InstanceClient.layer,
    HostClient.layer,
    InstanceTokens.layer.pipe(Layer.provide(DataDir.layer)),
    Templates.layer,
    PoolConfig.layer,
    PoolProcess.layer,
    compute,
  )
  return Reconciler.layer.pipe(
    Layer.provideMerge(Pool.layer),
    Layer.provideMerge(base),
    Layer.provideMerge(resources),
  )
}

/** Everything the pool needs, on the configured database (PostgreSQL, or embedded PGlite). */
export const PoolLive = PoolCore(ComputeFromConfig, ResourcesFromConfig).pipe(Layer.provideMerge(Database))
