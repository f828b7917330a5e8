/**
 * The one typed boundary to `@xmtp/node-sdk`: every call whose SDK types do not line up with what we pass goes
 * through here, so the rest of the client is written against plain, checked types.
 *
 * XMTP's enums are ambient const enums (empty objects at run time, and not importable as values under
 * `verbatimModuleSyntax`): their numeric values are named here once, typed as the SDK's enum types.
 */
import {
  Client,
  Dm,
  Group,
  type ConsentState,
  type ContentType,
  type DecodedMessage,
  type GroupPermissionsOptions,
  type PermissionPolicy,
  type PermissionUpdateType,
  type ReactionAction as SdkReactionAction,
  type ReactionSchema as SdkReactionSchema,
  type Signer,
  type SortDirection,
} from "@xmtp/node-sdk"
import type { Hex } from "viem"
import { toBytes } from "viem"
import { privateKeyToAccount } from "viem/accounts"
import { convosCodecs } from "../contentTypes.ts"
import type { ConvosEnv } from "../invite.ts"

export { Dm, Group }
export type XmtpClient = Client<unknown>
export type XmtpGroup = Group<unknown>
export type XmtpDm = Dm<unknown>
export type XmtpConversation = XmtpGroup | XmtpDm
export type XmtpMessage = DecodedMessage<unknown>
type EncodedContent = Parameters<XmtpConversation["send"]>[0]

export const Consent = { Unknown: 0 as ConsentState, Allowed: 1 as ConsentState, Denied: 2 as ConsentState } as const
const GroupPermissions = { AllMembers: 0 as GroupPermissionsOptions, AdminOnly: 1 as GroupPermissionsOptions } as const
const AddMemberUpdate = 0 as PermissionUpdateType
const LeaveRequestType = 6 as ContentType
export const Policy = { Allow: 0, Deny: 1 } as const
export const PermissionLevel = { Member: 0, Admin: 1, SuperAdmin: 2 } as const
const Reaction = { Added: 1 as SdkReactionAction, Removed: 2 as SdkReactionAction, Unicode: 1 as SdkReactionSchema } as const
const Descending = 1 as SortDirection

export function signerFor(walletKey: Hex): Signer {
  const account = privateKeyToAccount(walletKey)
  return {
    type: "EOA",
    getIdentifier: () => ({ identifier: account.address.toLowerCase(), identifierKind: 0 }),
    signMessage: async (message: string) => toBytes(await account.signMessage({ message })),
  }
}

export interface OpenXmtpOptions {
  env: ConvosEnv
  apiUrl?: string
  /** `null`: in memory, a new installation every open. */
  dbPath: string | null
  dbEncryptionKey?: Hex
}

/** A client with the Convos codecs (the SDK's generic codec list does not admit our content types). */
export const openXmtp = async (signer: Signer, options: OpenXmtpOptions): Promise<XmtpClient> =>
  (await Client.create(signer, {
    env: options.env,
    ...(options.apiUrl === undefined ? {} : { apiUrl: options.apiUrl }),
    dbPath: options.dbPath,
    ...(options.dbEncryptionKey === undefined ? {} : { dbEncryptionKey: options.dbEncryptionKey }),
    disableDeviceSync: true,
    appVersion: "convos-agents/0.1",
    codecs: convosCodecs() as never,
  })) as unknown as XmtpClient

export interface NewGroup {
  name: string
  description?: string
  imageUrl?: string
  permissions: "all_members" | "admin_only"
  appData: string
}

export const createGroup = (xmtp: XmtpClient, memberInboxIds: string[], group: NewGroup): Promise<XmtpGroup> =>
  xmtp.conversations.createGroup(memberInboxIds, {
    groupName: group.name,
    ...(group.description === undefined ? {} : { groupDescription: group.description }),
    ...(group.imageUrl === undefined ? {} : { groupImageUrlSquare: group.imageUrl }),
    permissions: group.permissions === "admin_only" ? GroupPermissions.AdminOnly : GroupPermissions.AllMembers,
    appData: group.appData,
  })

/** Groups in the local database, optionally only those in these consent states. */
export const listGroups = (xmtp: XmtpClient, consentStates?: ConsentState[]): XmtpGroup[] =>
  xmtp.conversations.listGroups(consentStates ? { consentStates } : undefined)

/** A Convos content type encoded by our codecs (their `EncodedContent` is structurally the SDK's). */
export const sendEncoded = (conversation: XmtpConversation, content: unknown, options: { shouldPush?: boolean } = {}) =>
  conversation.send(content as EncodedContent, options.shouldPush === undefined ? undefined : { shouldPush: options.shouldPush })

/** The newest `limit` messages, newest first. */
export const newestMessages = (conversation: XmtpConversation, limit: number): Promise<XmtpMessage[]> =>
  conversation.messages({ limit, direction: Descending })

/** XMTP message times are nanoseconds since the epoch; ours are milliseconds. */
export const nsOf = (ms: number): bigint => BigInt(Math.max(0, Math.floor(ms))) * 1_000_000n

/** Leave requests (`requestRemoval`) sent to a group since a time: who asked the group's admins to remove them. */
export const leaveRequestsSince = (group: XmtpGroup, sinceNs: bigint): Promise<XmtpMessage[]> =>
  group.messages({ contentTypes: [LeaveRequestType], sentAfterNs: sinceNs })

export const sendReaction = (
  conversation: XmtpConversation,
  reaction: { reference: string; referenceInboxId: string; action: "added" | "removed"; emoji: string },
) =>
  conversation.sendReaction({
    reference: reaction.reference,
    referenceInboxId: reaction.referenceInboxId,
    action: reaction.action === "added" ? Reaction.Added : Reaction.Removed,
    content: reaction.emoji,
    schema: Reaction.Unicode,
  })

/** Nobody may add members from now on (Convos "lock"). */
export const denyAddingMembers = (group: XmtpGroup) => group.updatePermission(AddMemberUpdate, Policy.Deny as PermissionPolicy)

export const addMemberPolicyOf = (group: XmtpGroup): number => group.permissions().policySet.addMemberPolicy as number

export const permissionLevelOf = (member: { permissionLevel: unknown }): number => member.permissionLevel as number
