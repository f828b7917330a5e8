import { NodeRuntime } from "@effect/platform-node"
import { Layer } from "effect"
import { ProductLayer } from "./App.ts"

/** `npm start`: the whole product in one process (see App.ts). */
Layer.launch(ProductLayer()).pipe(NodeRuntime.runMain)
