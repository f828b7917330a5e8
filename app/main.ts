import { launch } from "../pool/src/launch.ts"
import { ProductLayer } from "./App.ts"

/** `npm start`: the whole product in one process (see App.ts). */
launch(ProductLayer())
