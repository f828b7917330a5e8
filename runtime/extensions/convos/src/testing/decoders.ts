/** The contract's decoders as the plugin builds them in the gateway, for unit tests (which may import by relative path). */
import * as contract from "../../../../../contract/index.ts"
import { contractDecoders } from "../binding.ts"

export const testDecoders = contractDecoders(contract)
