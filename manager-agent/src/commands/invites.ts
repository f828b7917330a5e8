/**
 * A Convos invite pasted into a chat with the manager. A pasted link for someone else's conversation means "join
 * this"; a link to one of the manager's own conversations is the plain-text twin of a structured join request
 * (Convos clients send both) and is left to the join-request path.
 */
import { tryParseInvite } from "../../../convos/invite.ts"

export type PastedInvite =
  | { readonly kind: "other"; readonly invite: string }
  | { readonly kind: "own" }

const sameId = (a: string, b: string) => a.toLowerCase() === b.toLowerCase()

/** The first invite (URL or bare slug) in a message, and whose it is; undefined when there is none. */
export const pastedInvite = (text: string, selfInboxId: string): PastedInvite | undefined => {
  for (const token of text.split(/\s+/)) {
    const candidate = token.replace(/^[<("']+|[>)"'.,!?]+$/g, "")
    if (candidate.length < 20) continue
    const parsed = tryParseInvite(candidate)
    if (!parsed.ok) continue
    return sameId(parsed.invite.creatorInboxId, selfInboxId) ? { kind: "own" } : { kind: "other", invite: candidate }
  }
  return undefined
}
