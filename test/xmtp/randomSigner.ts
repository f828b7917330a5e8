/** A throwaway wallet signer for a raw XMTP test client: a new identity each call. */
import type { Signer } from "@xmtp/node-sdk"
import { generatePrivateKey } from "viem/accounts"
import { signerFor } from "../../convos/client/sdk.ts"

export const randomSigner = (): Signer => signerFor(generatePrivateKey())
