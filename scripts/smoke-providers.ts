/**
 * `npm run smoke:providers`: the pool's provider clients against the real services, with real keys: for each provider
 * whose key is set, create → use → release, printing what happened. Manual only (costs money, needs accounts), never
 * in CI. Every step runs through the pool's own code (the same layers and settings as `npm start`).
 *
 *   OPENROUTER_MANAGEMENT_KEY                 a capped key: created, found by name, its limit read with it, deleted
 *   AGENTMAIL_API_KEY                         an inbox: created (id and address), mail sent to itself and listed as
 *                                             received, deleted; then created again with the same client id, to show
 *                                             what AgentMail answers for a deleted inbox's client_id
 *   TELNYX_API_KEY + TELNYX_MESSAGING_PROFILE_ID + TELNYX_10DLC_CAMPAIGN_ID + SMOKE_TELNYX_BUY=1
 *                                             a number: ordered, awaited, assigned to the campaign, a text sent to
 *                                             SMOKE_SMS_TO (when set), released (deleted at Telnyx). Buying costs money.
 *   RAILWAY_API_TOKEN + RAILWAY_WORKSPACE_ID + RAILWAY_RUNTIME_IMAGE + SMOKE_RAILWAY=1
 *                                             a host project: created, its deployment watched until running or failed
 *                                             (at most 10 minutes), destroyed.
 * Uses DATABASE_URL when set, else a fresh embedded database in a temporary directory. Exit code 1 if a step failed.
 * Keys never appear in the output: every line is a client's own message or a resource id, which carry none.
 */
import { Duration, Effect, Layer, Option, Redacted } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ComputeProvider } from "../pool/src/compute/ComputeProvider.ts"
import * as Railway from "../pool/src/compute/Railway.ts"
import { Database } from "../pool/src/db/Database.ts"
import { AgentMail } from "../pool/src/resources/AgentMail.ts"
import { OpenRouter } from "../pool/src/resources/OpenRouter.ts"
import { smsSetting, Telnyx } from "../pool/src/resources/Telnyx.ts"
import type { CreatedResource, ToolProvider } from "../pool/src/resources/ToolProvider.ts"

if (!process.env["DATABASE_URL"]) process.env["DATA_DIR"] = mkdtempSync(join(tmpdir(), "smoke-providers-"))

const env = (name: string) => process.env[name]?.trim() || undefined
const id = `smoke${Date.now().toString(36)}`
let failures = 0

const print = (line: string) => Effect.sync(() => console.log(line))
/** One step: its outcome printed with its duration; a failure is counted and the run goes on. */
const step = <A, E>(name: string, effect: Effect.Effect<A, E>, show: (value: A) => string = () => "ok") =>
  Effect.gen(function*() {
    const started = Date.now()
    const result = yield* Effect.result(effect)
    const took = `${((Date.now() - started) / 1000).toFixed(1)} s`
    if (result._tag === "Success") {
      yield* print(`  ✓ ${name} (${took}): ${show(result.success)}`)
      return Option.some(result.success)
    }
    failures += 1
    const error = result.failure as { readonly message?: unknown }
    yield* print(`  ✗ ${name} (${took}): ${String(error?.message ?? error)}`)
    return Option.none<A>()
  })

const lifecycle = (tool: ToolProvider, use: (created: CreatedResource) => Effect.Effect<void>) =>
  Effect.gen(function*() {
    const created = yield* step(`create for ${id}`, tool.create(id), (r) =>
      `${r.resourceId} (env ${Object.keys(r.env).join(", ")}; ${JSON.stringify(r.meta)})`)
    if (Option.isNone(created)) return
    yield* step("find by instance id", tool.find(id), (found) => Option.getOrElse(Option.map(found, (f) => `found ${f}`), () => "NOT found"))
    yield* use(created.value)
    yield* step("release", tool.release(id, created.value.resourceId))
    yield* step("find after release", tool.find(id), (found) => Option.isSome(found) ? `still there: ${found.value}` : "gone")
  })

const openRouter = Effect.gen(function*() {
  yield* print("\nOpenRouter")
  const service = yield* OpenRouter
  yield* lifecycle(service.tool, () => Effect.void)
})

const agentMail = Effect.gen(function*() {
  yield* print("\nAgentMail")
  const mail = yield* AgentMail
  yield* lifecycle(mail.tool, (created) =>
    Effect.gen(function*() {
      const inboxId = created.resourceId
      const addressEnv = created.env["AGENTMAIL_ADDRESS"]
      const address = addressEnv === undefined ? inboxId : Redacted.value(addressEnv)
      yield* print(`  - inbox id ${inboxId}, address ${address}`)
      yield* step("send a mail to itself", mail.sendMessage(inboxId, { to: address, subject: `smoke ${id}`, text: "smoke test" }), (s) => s.messageId)
      yield* Effect.sleep(Duration.seconds(5))
      yield* step("list received mail (labels=received)", mail.listMessages(inboxId, 5), (messages) =>
        `${messages.length}: ${messages.map((m) => `${m.from} "${m.subject ?? ""}"`).join("; ") || "none yet"}`)
    }))
  // What a create answers for the client_id of the inbox just deleted (AgentMail: "a seen client_id returns the
  // original result"); the pool then uses the next client id.
  const again = yield* step("create again for the same instance (deleted inbox's client_id)", mail.tool.create(id), (r) =>
    `${r.resourceId}, client id ${String(r.meta["clientId"])}`)
  if (Option.isSome(again)) yield* step("release it", mail.tool.release(id, again.value.resourceId))
})

const telnyx = Effect.gen(function*() {
  yield* print("\nTelnyx")
  const sms = yield* Telnyx
  const to = env("SMOKE_SMS_TO")
  yield* lifecycle(sms.tool, ({ resourceId: number }) =>
    to === undefined
      ? print("  - no SMOKE_SMS_TO: no text sent")
      : Effect.asVoid(step(`send a text to ${to}`, sms.sendSms(number, { to, text: `convos smoke ${id}` }), (s) => s.messageId)))
})

const railway = Effect.gen(function*() {
  yield* print("\nRailway")
  const compute = yield* ComputeProvider
  const created = yield* step(`create host ${id}`, compute.create({ hostId: id, env: { HOST_ID: id } }), (h) => h.url)
  if (Option.isNone(created)) return
  const host = { hostId: id, ref: created.value.ref }
  const deadline = Date.now() + 10 * 60_000
  let state = "deploying"
  while (state === "deploying" && Date.now() < deadline) {
    yield* Effect.sleep(Duration.seconds(10))
    const states = yield* step("status", compute.status([host]), (s) => String(s.get(id)))
    state = Option.match(states, { onNone: () => "deploying", onSome: (s) => s.get(id) ?? "gone" })
  }
  yield* step("destroy", compute.destroy(host))
})

const program = Effect.gen(function*() {
  yield* print(`provider smoke test, instance id ${id}`)
  const run = <R>(name: string, enabled: string | undefined, effect: Effect.Effect<void, never, R>, layer: Layer.Layer<R, unknown>) =>
    enabled !== undefined
      ? print(`\n${name}: skipped (${enabled})`)
      : effect.pipe(
        Effect.provide(layer),
        Effect.catchCause((cause) => Effect.andThen(Effect.sync(() => failures++), print(`  ✗ ${name} could not start: ${cause}`))),
      )
  yield* run("OpenRouter", env("OPENROUTER_MANAGEMENT_KEY") ? undefined : "set OPENROUTER_MANAGEMENT_KEY", openRouter, OpenRouter.layer)
  yield* run("AgentMail", env("AGENTMAIL_API_KEY") ? undefined : "set AGENTMAIL_API_KEY", agentMail, AgentMail.layer)
  const sms = smsSetting(env("TELNYX_API_KEY"), env("TELNYX_10DLC_CAMPAIGN_ID"))
  yield* run(
    "Telnyx",
    !sms.on ? (sms.reason ?? "set TELNYX_API_KEY") : env("SMOKE_TELNYX_BUY") !== "1" ? "buying a number costs money: set SMOKE_TELNYX_BUY=1" : undefined,
    telnyx,
    Telnyx.layer.pipe(Layer.provide(Database)),
  )
  yield* run(
    "Railway",
    env("RAILWAY_API_TOKEN") === undefined ? "set RAILWAY_API_TOKEN" : env("SMOKE_RAILWAY") !== "1" ? "set SMOKE_RAILWAY=1" : undefined,
    railway,
    Railway.layer,
  )
  yield* print(failures === 0 ? "\nsmoke: every step that ran succeeded" : `\nsmoke: ${failures} step(s) failed`)
})

await Effect.runPromise(program)
process.exit(failures === 0 ? 0 : 1)
