/**
 * convos/: XMTP identity and client, Convos invites, joins and direct adds.
 *
 * Plain Promise-based TypeScript (no Effect in the surface): it also runs inside the OpenClaw gateway process.
 *
 * Identity (identity.ts)
 *   loadOrCreateIdentity({ stateDir, encryptionKey? }) → { walletKey, dbEncryptionKey, address, inboxId, … }
 *     `<stateDir>/identity.json`, mode 0600 in a 0700 dir. With `encryptionKey` or env CONVOS_KEY_ENCRYPTION_KEY
 *     the secrets are encrypted at rest (scrypt + AES-256-GCM). Wrong/missing key → IdentityError, never a new identity.
 *
 * Client (client.ts; its rooms under client/, the SDK boundary in client/sdk.ts; test-only reach in testing/)
 *   ConvosClient.open({ stateDir, env: "dev"|"production"|"local", apiUrl?, encryptionKey?, dbPath?,
 *                       welcomePolicy?: "expected_only"|"accept_all", processJoinRequests?, onError? })
 *     → client with `inboxId`, `installationId`, `address`; reopening the same stateDir reuses the installation.
 *   createConversation({ name, description?, imageUrl?, permissions: "all_members"|"admin_only", memberInboxIds?,
 *                        profile?: { name, isAgent }, inviteExpiresAt? }) → { conversationId, inviteUrl, inviteSlug }
 *   createInvite(conversationId, { expiresAt? }) → { slug, url }
 *   joinByInvite(url, { timeoutMs?, signal?, profile?, sendPlainTextSlug? })
 *     → { status: "joined", conversationId }
 *     | { status: "pending_acceptance", inviteTag, creatorInboxId, waitForJoin({ timeoutMs?, signal? }) }
 *     (the onConversation "joined" event with via "invite" also fires when a pending join completes)
 *   expectAdd({ conversationId, addedBy?, timeoutMs?, signal? }) → { conversationId, addedByInboxId } once the
 *     welcome for exactly that conversation arrives; under "expected_only" unexpected welcomes are ignored.
 *   addMembers / removeMembers(conversationId, inboxIds), leave(conversationId) (asks the admins to remove us),
 *     askedToLeave(conversationId, inboxId, since) → whether that member sent such a request; an add (and an accepted join
 *     request) is followed by a profile snapshot of the members (profiles.ts), as the Convos apps send
 *   sendText(conversationId, text, { replyTo? }) → message id
 *   react(conversationId, messageId, emoji, "added"|"removed") → message id
 *   setProfile(conversationId, { name, isAgent, metadata? })
 *   groupInfo(conversationId) → { name, description, members[{inboxId, role}], adminInboxIds, superAdminInboxIds,
 *                                 membersMayAddMembers, locked, inviteTag, profiles, isActive }
 *   declaredMemberKind(conversationId, inboxId), checkJoinRequests()
 *   onMessage(handler) → unsubscribe: each inbound message once, as ConvosMessageEvent
 *     { id, conversationId, senderInboxId, sentAt, isDm, kind, contentType, text?, referenceMessageId?, reaction?,
 *       attachment?, groupUpdate?, profile?, … raw }
 *   onConversation(handler): joined (created|added|invite) | ignored | removed | members_changed | dm
 *   onJoinRequest(handler): each decided join request for our invites (applied automatically)
 *   close()
 *
 * Pure (no client needed)
 *   invite.ts:      createInvite, parseInvite / tryParseInvite (InviteParseError with `reason`), extractInviteSlug,
 *                   inviteToSlug, recoverInviteSigner, verifyInviteSigner, isInviteExpired,
 *                   encrypt/decryptConversationToken (inviteToken.ts), inviteUrlForSlug
 *   joinRequest.ts: decideJoinRequest(evidence) → accept | deny(reason) | ignore(reason),
 *                   gatherJoinRequestEvidence, joinRequestFromMessage
 *   metadata.ts:    appData decode/encode, upsertProfile, rotateInviteTag, newInviteTag
 *   contentTypes.ts: Convos codecs (join_request, profile_update, profile_snapshot, typing_indicator, explode_settings)
 *   events.ts:      normaliseMessage, RecentIds
 *   streams.ts:     superviseStream, backoffDelayMs
 */
export {
  ConvosClient,
  ConvosClientError,
  type ConversationEvent,
  type ConvosClientErrorReason,
  type ConvosClientOptions,
  type CreateConversationOptions,
  type CreatedConversation,
  type ExpectAddOptions,
  type GroupInfo,
  type GroupMemberInfo,
  type JoinOptions,
  type JoinRequestEvent,
  type JoinResult,
  type Permissions,
  type WelcomePolicy,
} from "./client.ts"
export {
  ContentTypeExplodeSettings,
  ContentTypeJoinRequest,
  ContentTypeProfileSnapshot,
  ContentTypeProfileUpdate,
  ContentTypeTypingIndicator,
  convosCodecs,
  ExplodeSettingsCodec,
  JoinRequestCodec,
  MemberKind,
  ProfileSnapshotCodec,
  ProfileUpdateCodec,
  TypingIndicatorCodec,
  type ContentTypeId,
  type JoinRequestContent,
  type MemberProfile,
  type ProfileMetadataValue,
  type ProfileSnapshot,
  type ProfileUpdate,
} from "./contentTypes.ts"
export { normaliseMessage, RecentIds, type ConvosMessageEvent, type GroupUpdate, type MessageKind } from "./events.ts"
export {
  IDENTITY_FILE,
  IdentityError,
  inboxIdForAddress,
  KEY_ENCRYPTION_ENV,
  loadOrCreateIdentity,
  type ConvosIdentity,
  type IdentityErrorReason,
  type LoadIdentityOptions,
} from "./identity.ts"
export {
  createInvite,
  decryptConversationToken,
  encryptConversationToken,
  extractInviteSlug,
  InviteParseError,
  inviteToSlug,
  inviteUrlForSlug,
  isInviteExpired,
  parseInvite,
  recoverInviteSigner,
  tryParseInvite,
  verifyInviteSigner,
  walletPublicKey,
  type ConvosEnv,
  type CreatedInvite,
  type CreateInviteInput,
  type InviteParseReason,
  type InviteParseResult,
  type ParsedInvite,
} from "./invite.ts"
export {
  decideJoinRequest,
  gatherJoinRequestEvidence,
  joinRequestFromMessage,
  type GroupSnapshot,
  type JoinDenyReason,
  type JoinIgnoreReason,
  type JoinRequestEvidence,
  type JoinRequestMessage,
  type JoinVerdict,
} from "./joinRequest.ts"
export {
  AppDataError,
  decodeAppData,
  encodeAppData,
  newInviteTag,
  readAppData,
  rotateInviteTag,
  upsertProfile,
  type ConversationMetadata,
  type ConversationProfile,
} from "./metadata.ts"
export { backoffDelayMs, superviseStream, type BackoffPolicy } from "./streams.ts"
