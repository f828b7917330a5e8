/**
 * Who is who in a conversation, from its history, the way the Convos apps read it: a member's own newest profile
 * update, else its entry in the newest profile snapshot. Pure. Whoever adds members sends a snapshot of these right
 * after (the iOS app and the Convos CLI do; so do we): a newcomer cannot read the history from before it joined, so
 * without one it sees names and kinds (an agent, a person) only as members happen to write them again.
 */
import type { MemberProfile, ProfileSnapshot } from "./contentTypes.ts"
import type { ConvosMessageEvent } from "./events.ts"

type ProfileEvent = Pick<ConvosMessageEvent, "senderInboxId" | "kind" | "profile" | "profileSnapshot">

const key = (inboxId: string) => inboxId.toLowerCase()

/**
 * The profiles of `memberInboxIds` as far as `newestFirst` (a conversation's messages, newest first) tells. Reads no
 * further than it needs: once every member's own update is found, older messages are not looked at.
 */
export const resolveProfiles = (
  newestFirst: Iterable<ProfileEvent>,
  memberInboxIds: ReadonlyArray<string>,
): Map<string, MemberProfile> => {
  const wanted = new Set(memberInboxIds.map(key))
  const own = new Map<string, MemberProfile>()
  let snapshot: ProfileSnapshot | undefined
  for (const event of newestFirst) {
    if (event.kind === "profile_update" && event.profile && wanted.has(key(event.senderInboxId)) && !own.has(key(event.senderInboxId))) {
      own.set(key(event.senderInboxId), { ...event.profile, inboxId: event.senderInboxId })
    } else if (event.kind === "profile_snapshot" && event.profileSnapshot && snapshot === undefined) {
      snapshot = event.profileSnapshot
    }
    if (own.size === wanted.size) break
  }
  for (const entry of snapshot?.profiles ?? []) {
    if (wanted.has(key(entry.inboxId)) && !own.has(key(entry.inboxId))) own.set(key(entry.inboxId), entry)
  }
  return own
}

/** The snapshot to send after an add: every member with a known profile, in member order. */
export const profileSnapshotOf = (newestFirst: Iterable<ProfileEvent>, memberInboxIds: ReadonlyArray<string>): ProfileSnapshot => {
  const resolved = resolveProfiles(newestFirst, memberInboxIds)
  return { profiles: memberInboxIds.flatMap((inboxId) => resolved.get(key(inboxId)) ?? []) }
}
