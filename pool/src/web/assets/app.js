// Progressive enhancement for the public pages: live search and category filters on the catalog, live
// availability, and the launch forms on a template page. The pages work for browsing without it.
"use strict"

const $ = (selector, root = document) => root.querySelector(selector)
const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector))

// ---- catalog: search and category filters without a reload ----
const catalog = $("#catalog")
if (catalog) {
  const input = $("#q")
  const count = $("#result-count")
  const empty = $("#no-results")
  const chips = $$(".chip")
  let category = new URLSearchParams(location.search).get("category") || ""
  const apply = () => {
    const words = input.value.toLowerCase().split(/\s+/).filter(Boolean)
    let shown = 0
    for (const card of $$(".card", catalog)) {
      const ok = (!category || card.dataset.category === category) && words.every((w) => card.dataset.search.includes(w))
      card.hidden = !ok
      if (ok) shown++
    }
    count.textContent = shown === 1 ? "1 agent" : `${shown} agents`
    empty.hidden = shown !== 0
    for (const chip of chips) {
      if (chip.dataset.category === category) chip.setAttribute("aria-current", "true")
      else chip.removeAttribute("aria-current")
    }
    const params = new URLSearchParams()
    if (input.value.trim()) params.set("q", input.value.trim())
    if (category) params.set("category", category)
    const query = params.toString()
    history.replaceState(null, "", query ? `/?${query}` : "/")
  }
  input.addEventListener("input", apply)
  $(".filters").addEventListener("submit", (event) => {
    event.preventDefault()
    apply()
  })
  for (const chip of chips) {
    chip.addEventListener("click", (event) => {
      event.preventDefault()
      category = chip.dataset.category
      apply()
    })
  }
}

// ---- live availability, refreshed without a reload ----
const availability = $("#availability")
if (availability) {
  const refresh = async () => {
    try {
      const response = await fetch("/availability.json", { headers: { accept: "application/json" } })
      if (!response.ok) return
      const a = await response.json()
      availability.textContent = a.message
      availability.dataset.state = a.ready > 0 ? "ready" : "none"
    } catch {
      // offline for a moment: keep the last message
    }
  }
  refresh()
  setInterval(refresh, 5000)
}

// ---- template page: launch an agent, showing the claim's progress ----
const launchText = {
  claimed_join: (name) => `${name} joined your conversation. Say hello!`,
  pending: (name) => `${name} asked to join. It will be in as soon as the conversation's creator accepts.`,
  created: (name) => `${name} started a conversation. Open this invite link in Convos:`,
}

const readEvents = async (response, onEvent) => {
  const reader = response.body.getReader()
  const decoder = new TextDecoder()
  let buffer = ""
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    buffer += decoder.decode(value, { stream: true })
    let end
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const data = frame.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n")
      if (data) onEvent(JSON.parse(data))
    }
  }
}

for (const form of $$("form.launch")) {
  form.hidden = false
  const panel = form.closest(".panel")
  const steps = $(".steps", panel)
  const outcome = $(".outcome", panel)
  const button = $("button", form)
  const name = $("h1").textContent
  const show = (state, text, extra) => {
    outcome.dataset.state = state
    outcome.replaceChildren(document.createTextNode(text))
    if (extra) for (const node of extra) outcome.append(node)
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault()
    steps.replaceChildren()
    show("", "")
    const body = form.dataset.mode === "join" ? { joinUrl: $("input[name=joinUrl]", form).value.trim() } : {}
    button.disabled = true
    try {
      const response = await fetch(form.action, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "text/event-stream" },
        body: JSON.stringify(body),
      })
      if (!response.ok) {
        const problem = await response.json().catch(() => ({ error: "Something went wrong. Please try again." }))
        show("error", problem.error)
        return
      }
      await readEvents(response, (event) => {
        if (event.type === "step") {
          const item = document.createElement("li")
          item.dataset.status = event.status
          item.textContent = event.message
          steps.append(item)
        } else if (event.type === "complete") {
          if (!event.ok) return show("error", event.error)
          if (event.status === "pending_acceptance") return show("pending", launchText.pending(name))
          if (form.dataset.mode === "create" && event.inviteUrl) {
            const link = document.createElement("a")
            link.href = event.inviteUrl
            link.textContent = event.inviteUrl
            link.className = "invite-link"
            const qr = document.createElement("img")
            qr.src = event.inviteQr
            qr.width = 200
            qr.height = 200
            qr.alt = "QR code of the invite link"
            return show("ok", launchText.created(name), [document.createElement("br"), link, qr])
          }
          show("ok", launchText.claimed_join(name))
        }
      })
    } catch {
      show("error", "The connection was lost. Please try again.")
    } finally {
      button.disabled = false
    }
  })
}

// Arriving from a catalog card's "Add to my conversation": the invite field is ready to paste into.
if (location.hash === "#add") $("#joinUrl")?.focus()
