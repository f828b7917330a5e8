// Calls a pool tool route as this instance: POOL_URL + path, authenticated by INSTANCE_TOKEN. Never prints the token.
export const poolCall = async (method, path, body) => {
  const poolUrl = process.env.POOL_URL?.trim()
  const token = process.env.INSTANCE_TOKEN?.trim()
  if (!poolUrl) fail("POOL_URL is not set: this agent cannot reach its pool")
  if (!token) fail("INSTANCE_TOKEN is not set: this agent cannot authenticate to its pool")
  const headers = { authorization: `Bearer ${token}`, accept: "application/json" }
  if (process.env.INSTANCE_ID) headers["x-instance-id"] = process.env.INSTANCE_ID
  if (body !== undefined) headers["content-type"] = "application/json"
  let response
  try {
    response = await fetch(new URL(path, poolUrl.endsWith("/") ? poolUrl : `${poolUrl}/`), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    })
  } catch (error) {
    fail(`could not reach the pool (${error?.name === "TimeoutError" ? "timed out" : "network error"})`)
  }
  const text = await response.text()
  let parsed
  try {
    parsed = text ? JSON.parse(text) : {}
  } catch {
    parsed = { error: text.slice(0, 200) }
  }
  if (!response.ok) fail(`${response.status} ${typeof parsed.error === "string" ? parsed.error : response.statusText}`)
  return parsed
}

export const fail = (message) => {
  process.stderr.write(`error: ${message}\n`)
  process.exit(1)
}

/** `--name value` pairs; `-` as a value reads standard input. */
export const parseArgs = async (argv, allowed) => {
  const args = {}
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i]?.replace(/^--/, "")
    if (!allowed.includes(name) || argv[i + 1] === undefined) fail(`usage: --${allowed.join(" … --")} …`)
    args[name] = argv[i + 1] === "-" ? await readStdin() : argv[i + 1]
  }
  return args
}

const readStdin = async () => {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  return Buffer.concat(chunks).toString("utf8")
}
