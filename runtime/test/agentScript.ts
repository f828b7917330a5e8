/** The fake model's behaviour in runtime tests: warm-up → OK, greeting → a hello, "PING-x" → "PONG-x". */
import type { FakeModelScript } from "../../test/fakes/fakeModel.ts"

export const agentScript: FakeModelScript = (request) => {
  // History is included in every request: the newest cue is the last one.
  const pings = [...request.userText.matchAll(/PING-([\w-]+)/g)]
  const ping = pings.at(-1)?.[1]
  if (ping) return `PONG-${ping}`
  if (request.userText.includes("start-up check")) return "OK"
  const greeting = /added to this group conversation as "([^"]+)"/.exec(request.userText)
  if (greeting) return `Hello everyone, I'm ${greeting[1]}! Ask me anything.`
  return "fake model reply"
}
