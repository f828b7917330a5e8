/**
 * The instance contract inside the gateway. OpenClaw runs this plugin from a copy in its temp dir, so
 * `contract/index.ts` is loaded by absolute path (CONVOS_CONTRACT_PATH) the way `convos/` is (transportConvos.ts:
 * tsx's scoped `tsImport` through a `Function`-built `import()`, out of jiti's reach; a plain native import of a .ts
 * file comes back without its exports inside the gateway). Static imports of it are type-only; it decodes with its own
 * `effect` (`decoderFor`).
 */
import { createRequire } from "node:module"
import { pathToFileURL } from "node:url"
import { type ContractDecoders, contractDecoders } from "./binding.ts"

type ContractModule = typeof import("../../../../contract/index.ts")

const nativeImport = new Function("specifier", "return import(specifier)") as (specifier: string) => Promise<unknown>

const loadContract = async (contractPath: string): Promise<ContractModule> => {
  const tsxApi = createRequire(contractPath).resolve("tsx/esm/api")
  const { tsImport } = (await nativeImport(pathToFileURL(tsxApi).href)) as { tsImport: (specifier: string, parent: string) => Promise<unknown> }
  const url = pathToFileURL(contractPath).href
  const contract = (await tsImport(url, url)) as Partial<ContractModule>
  if (typeof contract.decoderFor !== "function" || contract.ProvisionRequest === undefined) throw new Error(`${contractPath} did not load as the instance contract`)
  return contract as ContractModule
}

/** Loads the contract once per path (every account shares it). */
export const contractLoader = (): ((contractPath: string) => Promise<ContractDecoders>) => {
  const loaded = new Map<string, Promise<ContractDecoders>>()
  return (contractPath) => {
    let decoders = loaded.get(contractPath)
    if (!decoders) {
      decoders = loadContract(contractPath).then(contractDecoders)
      // A failed load is retried by the next account start, not cached.
      decoders.catch(() => loaded.delete(contractPath))
      loaded.set(contractPath, decoders)
    }
    return decoders
  }
}
