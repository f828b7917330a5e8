/**
 * What tests ask of a `ConvosClient` that the product never does: reaching under its surface for the groups it
 * has bound, or locking a group the way a Convos app does.
 */
import type { ConvosClient } from "../client.ts"
import { coreOf } from "../client/core.ts"
import { Consent, denyAddingMembers, listGroups } from "../client/sdk.ts"
import { decodeAppData, encodeAppData, rotateInviteTag } from "../metadata.ts"

/** Conversation ids of the groups bound to this client (consent Allowed). */
export const boundGroupIds = (client: ConvosClient): string[] =>
  listGroups(coreOf(client).xmtp)
    .filter((g) => g.consentState() === Consent.Allowed)
    .map((g) => g.id)

/** Revokes every outstanding invite (new tag) and denies adding members from now on, as a Convos app's "lock". */
export const lockGroup = async (client: ConvosClient, conversationId: string): Promise<void> => {
  const group = await coreOf(client).requireGroup(conversationId)
  await group.updateAppData(encodeAppData(rotateInviteTag(decodeAppData(group.appData))))
  await denyAddingMembers(group)
}
