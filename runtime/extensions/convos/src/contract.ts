/**
 * The instance contract inside the gateway. OpenClaw runs this plugin from a copy in its temp dir, so
 * `contract/index.ts` (and the `effect` it imports) is loaded by absolute path (CONVOS_CONTRACT_PATH) with Node's own
 * loader (type stripping), out of reach of OpenClaw's jiti; static imports of it are type-only.
 */
import { createRequire } from "node:module"
import { pathToFileURL } from "node:url"
import { type ContractDecoders, contractDecoders } from "./binding.ts"

type ContractModule = typeof import("../../../../contract/index.ts")
type EffectModule = typeof import("effect")

const nativeImport = new Function("specifier", "return import(specifier)") as (specifier: string) => Promise<unknown>

/** Loads the contract once per path (every account shares it). */
export const contractLoader = (): ((contractPath: string) => Promise<ContractDecoders>) => {
  const loaded = new Map<string, Promise<ContractDecoders>>()
  return (contractPath) => {
    let decoders = loaded.get(contractPath)
    if (!decoders) {
      decoders = (async () => {
        const contract = (await nativeImport(pathToFileURL(contractPath).href)) as ContractModule
        // The same `effect` the contract itself resolves, so its schemas and this decoder agree.
        const effect = (await nativeImport(pathToFileURL(createRequire(contractPath).resolve("effect")).href)) as EffectModule
        return contractDecoders(contract, effect)
      })()
      loaded.set(contractPath, decoders)
    }
    return decoders
  }
}
