import { generatePrivateKey } from "viem/accounts"
import { describe, expect, it } from "vitest"
import { createInvite, InviteParseError, inviteToSlug, parseInvite } from "./invite.ts"
import { generateInviteInput, seededRandom } from "./testing/inviteFuzz.ts"

const CASES = 2_000
const SEED = Number(process.env.INVITE_FUZZ_SEED ?? 20261125)

describe("invite parser fuzz", () => {
  it(`on ${CASES} random and mutated inputs only ever returns an invite or throws InviteParseError`, async () => {
    const walletKey = generatePrivateKey()
    const validSlugs = await Promise.all([
      createInvite({ conversationId: "0a".repeat(16), creatorInboxId: "b7".repeat(32), walletKey, tag: "T1" }, "dev"),
      createInvite(
        { conversationId: "0a".repeat(16), creatorInboxId: "c3".repeat(32), walletKey, tag: "T2", description: "long ".repeat(80) },
        "dev",
      ),
    ]).then((invites) => invites.map((i) => i.slug))
    const random = seededRandom(SEED)
    const outcomes = { parsed: 0, rejected: new Map<string, number>() }
    for (let i = 0; i < CASES; i++) {
      const input = generateInviteInput(random, validSlugs)
      try {
        const invite = parseInvite(input)
        outcomes.parsed++
        // Whatever parses must re-encode to an equivalent invite.
        expect(parseInvite(inviteToSlug(invite)).payloadBytes).toEqual(invite.payloadBytes)
      } catch (error) {
        if (!(error instanceof InviteParseError)) {
          throw new Error(`case ${i} (seed ${SEED}) threw ${String(error)} for input ${JSON.stringify(input)}`)
        }
        outcomes.rejected.set(error.reason, (outcomes.rejected.get(error.reason) ?? 0) + 1)
      }
    }
    // The generator must actually reach both outcomes and several rejection paths, or the test proves little.
    expect(outcomes.parsed).toBeGreaterThan(0)
    expect(outcomes.rejected.size).toBeGreaterThanOrEqual(5)
  })
})
