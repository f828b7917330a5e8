/**
 * npm run bench:invite — 100,000 fuzz cases through the invite parser (must only ever return an invite or throw
 * InviteParseError), then parse / verify / create throughput.
 */
import { randomBytes } from "node:crypto"
import { performance } from "node:perf_hooks"
import { generatePrivateKey } from "viem/accounts"
import { createInvite, InviteParseError, parseInvite, recoverInviteSigner, verifyInviteSigner } from "../invite.ts"
import { generateInviteInput, seededRandom } from "../testing/inviteFuzz.ts"

const FUZZ_CASES = Number(process.env.INVITE_FUZZ_CASES ?? 100_000)
const SEED = Number(process.env.INVITE_FUZZ_SEED ?? Date.now() % 2 ** 31)

const walletKey = generatePrivateKey()
const creatorInboxId = randomBytes(32).toString("hex") // random like a real one (a repetitive id compresses)
const plain = await createInvite({ conversationId: "1e".repeat(16), creatorInboxId, walletKey, tag: "BenchTag01", name: "Bench" }, "production")
const long = await createInvite(
  { conversationId: "1e".repeat(16), creatorInboxId, walletKey, tag: "BenchTag02", description: "a long description ".repeat(40) },
  "dev",
)

const random = seededRandom(SEED)
const reasons = new Map<string, number>()
let parsed = 0
const fuzzStart = performance.now()
for (let i = 0; i < FUZZ_CASES; i++) {
  const input = generateInviteInput(random, [plain.slug, long.slug])
  try {
    parseInvite(input)
    parsed++
  } catch (error) {
    if (!(error instanceof InviteParseError)) {
      console.error(`FAIL: case ${i} (seed ${SEED}) threw ${String(error)} for ${JSON.stringify(input)}`)
      process.exit(1)
    }
    reasons.set(error.reason, (reasons.get(error.reason) ?? 0) + 1)
  }
}
const fuzzMs = performance.now() - fuzzStart
console.log(`fuzz: ${FUZZ_CASES} cases (seed ${SEED}) in ${fuzzMs.toFixed(0)} ms: ${parsed} parsed, ${FUZZ_CASES - parsed} InviteParseError, 0 other errors`)
console.log(`  rejections by reason: ${[...reasons].sort((a, b) => b[1] - a[1]).map(([r, n]) => `${r}=${n}`).join(" ")}`)

function rate(label: string, count: number, ms: number): void {
  console.log(`${label.padEnd(34)} ${String(count).padStart(7)} in ${ms.toFixed(0).padStart(6)} ms  ${((count / ms) * 1000).toFixed(0).padStart(8)}/s  ${((ms * 1000) / count).toFixed(1)} µs each`)
}

for (const [label, url] of [["parse (URL)", plain.url], ["parse (raw-deflate compressed slug)", long.slug]] as const) {
  const n = 50_000
  const start = performance.now()
  for (let i = 0; i < n; i++) parseInvite(url)
  rate(label, n, performance.now() - start)
}
{
  const invite = parseInvite(plain.url)
  const n = 2_000
  const start = performance.now()
  for (let i = 0; i < n; i++) if (!verifyInviteSigner(invite, walletKey)) throw new Error("verify failed")
  rate("verify signer (creator, ECDSA verify)", n, performance.now() - start)
}
{
  const invite = parseInvite(plain.url)
  const n = 200
  const start = performance.now()
  for (let i = 0; i < n; i++) if (!(await recoverInviteSigner(invite))) throw new Error("recover failed")
  rate("recover signer (joiner side)", n, performance.now() - start)
}
{
  const n = 2_000
  const start = performance.now()
  for (let i = 0; i < n; i++) await createInvite({ conversationId: "1e".repeat(16), creatorInboxId, walletKey, tag: "BenchTag01" }, "dev")
  rate("create (encrypt + sign)", n, performance.now() - start)
}
