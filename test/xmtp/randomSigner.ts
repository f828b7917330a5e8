/** A throwaway wallet signer for a raw XMTP test client: a new identity each call. */
import type { Signer } from "@xmtp/node-sdk"
import { toBytes } from "viem"
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts"

export const randomSigner = (): Signer => {
  const account = privateKeyToAccount(generatePrivateKey())
  return {
    type: "EOA",
    getIdentifier: () => ({ identifier: account.address.toLowerCase(), identifierKind: 0 }),
    signMessage: async (message: string) => toBytes(await account.signMessage({ message })),
  }
}
