/**
 * What the plugin knows of a conversation's members from their Convos profiles: display names, and whether a profile
 * declares `memberKind` Agent (1) or User (2). Learnt from profile updates, profile snapshots and the group's appData
 * (names only). Pure; the transport feeds it.
 */

/** Convos `MemberKind` values (convos/contentTypes.ts `MemberKind`): 0 unspecified, 1 Agent, 2 User. */
const AGENT = 1

interface MemberInfo {
  name?: string
  isAgent?: boolean
}

export interface MemberDirectory {
  /** A profile as its owner wrote it; a declared kind replaces an earlier one, an absent kind keeps it. */
  learn(conversationId: string, inboxId: string, profile: { readonly name?: string | undefined; readonly memberKind?: number | undefined }): void
  /** A name from the group's appData: only when no profile message named the member yet. */
  learnNameIfUnknown(conversationId: string, inboxId: string, name: string): void
  /** The member left or was removed. */
  forget(conversationId: string, inboxId: string): void
  nameOf(conversationId: string, inboxId: string): string | undefined
  isAgent(conversationId: string, inboxId: string): boolean
  /** Members whose profiles declare them agents, but for `except` (lower-cased inbox ids). */
  agentsExcept(conversationId: string, except: ReadonlyArray<string>): Array<string>
}

export const memberDirectory = (): MemberDirectory => {
  const byConversation = new Map<string, Map<string, MemberInfo>>()
  const membersOf = (conversationId: string) => {
    const id = conversationId.toLowerCase()
    let members = byConversation.get(id)
    if (!members) byConversation.set(id, (members = new Map()))
    return members
  }
  return {
    learn(conversationId, inboxId, profile) {
      const members = membersOf(conversationId)
      const key = inboxId.toLowerCase()
      const known = members.get(key) ?? {}
      members.set(key, {
        ...known,
        ...(profile.name ? { name: profile.name } : {}),
        ...(profile.memberKind !== undefined && profile.memberKind !== 0 ? { isAgent: profile.memberKind === AGENT } : {}),
      })
    },
    learnNameIfUnknown(conversationId, inboxId, name) {
      const members = membersOf(conversationId)
      const key = inboxId.toLowerCase()
      const known = members.get(key) ?? {}
      if (name && !known.name) members.set(key, { ...known, name })
    },
    forget(conversationId, inboxId) {
      membersOf(conversationId).delete(inboxId.toLowerCase())
    },
    nameOf: (conversationId, inboxId) => membersOf(conversationId).get(inboxId.toLowerCase())?.name,
    isAgent: (conversationId, inboxId) => membersOf(conversationId).get(inboxId.toLowerCase())?.isAgent === true,
    agentsExcept(conversationId, except) {
      const skip = new Set(except.map((id) => id.toLowerCase()))
      return [...membersOf(conversationId).entries()].filter(([id, info]) => info.isAgent === true && !skip.has(id)).map(([id]) => id)
    },
  }
}
