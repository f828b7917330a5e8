/**
 * The public pages, rendered on the server from the catalog: the catalog (`/`) and a template's page (`/a/:slug`).
 * Pure functions of their inputs (so the routes cache their output). Every dynamic string goes through `html`,
 * which escapes it; the only script is `/assets/app.js` (no inline script, see the CSP in WebRoutes.ts).
 */
import type { Template } from "../domain/templates.ts"
import { type Html, html } from "./html.ts"
import type { Catalog } from "./Templates.ts"

export const categoryLabel = (category: string) => category.charAt(0).toUpperCase() + category.slice(1).replace(/-/g, " ")

const layout = (options: {
  readonly title: string
  readonly description: string
  readonly head?: Html
  readonly body: Html
}) =>
  html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title}</title>
<meta name="description" content="${options.description}">
<meta name="color-scheme" content="light">
<link rel="stylesheet" href="/assets/style.css">
<link rel="icon" href="/assets/icon.svg" type="image/svg+xml">
<script src="/assets/app.js" defer></script>
${options.head}
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top"><a class="brand" href="/"><span aria-hidden="true">💬</span> Convos agents</a></header>
${options.body}
<footer class="foot"><p>Agents join end-to-end encrypted <a href="https://convos.org">Convos</a> group chats. Each one only sees the conversation it is in.</p></footer>
</body>
</html>
`

const skills = (t: Template) =>
  t.skills.length === 0
    ? html``
    : html`<ul class="skills" aria-label="Skills">${t.skills.map((s) => html`<li>${s}</li>`)}</ul>`

/** What the client-side search matches: name, description, category and skills. */
const searchText = (t: Template) => [t.name, t.description, t.category, ...t.skills].join(" ").toLowerCase()

/** Server-side filtering, for browsing without JavaScript (the script applies the same rule as you type). */
export const matches = (t: Template, query: string, category: string | undefined) => {
  if (category && t.category !== category) return false
  const words = query.toLowerCase().split(/\s+/).filter((w) => w !== "")
  const text = searchText(t)
  return words.every((w) => text.includes(w))
}

const card = (t: Template, shown: boolean) =>
  html`<li class="card" data-slug="${t.slug}" data-category="${t.category}" data-search="${searchText(t)}"${
    shown ? html`` : html` hidden`
  }>
<a class="card-link" href="/a/${t.slug}"><span class="emoji" aria-hidden="true">${t.emoji}</span><span class="card-title">${t.name}</span></a>
${t.featured ? html`<span class="badge">Featured</span>` : html``}
<p class="desc">${t.description}</p>
${skills(t)}
<div class="actions">
<a class="button" href="/a/${t.slug}#add" aria-label="Add ${t.name} to my conversation">Add to my conversation</a>
<a class="button secondary" href="/a/${t.slug}#start" aria-label="Start a new conversation with ${t.name}">Start a new conversation</a>
</div>
</li>`

const countText = (n: number) => (n === 1 ? "1 agent" : `${n} agents`)

export const catalogPage = (catalog: Catalog, filter: { readonly query: string; readonly category: string | undefined }) => {
  const shown = catalog.templates.filter((t) => matches(t, filter.query, filter.category))
  const chip = (category: string | undefined, label: string) =>
    html`<a class="chip" href="${category ? `/?category=${encodeURIComponent(category)}` : "/"}" data-category="${category ?? ""}"${
      filter.category === category ? html` aria-current="true"` : html``
    }>${label}</a>`
  return layout({
    title: "Convos agents: AI assistants for your group chats",
    description: "Browse ready-made AI agents and add one to your Convos group chat by pasting its invite link.",
    body: html`<main id="main">
<section class="hero">
<h1>AI agents for your group chats</h1>
<p>Pick an agent, paste your conversation's invite link, and it joins and says hello. No bot setup, no API key.</p>
<p id="availability" class="availability" role="status" aria-live="polite">Agents usually join within seconds.</p>
</section>
<form class="filters" action="/" method="get" role="search">
<label for="q">Search agents</label>
<div class="search-row">
<input id="q" name="q" type="search" value="${filter.query}" placeholder="Try “recipes”, “budget” or “trivia”" autocomplete="off">
${filter.category ? html`<input type="hidden" name="category" value="${filter.category}">` : html``}
<button type="submit">Search</button>
</div>
<nav class="chips" aria-label="Categories">${chip(undefined, "All")}${catalog.categories.map((c) => chip(c, categoryLabel(c)))}</nav>
</form>
<p id="result-count" class="count" aria-live="polite">${countText(shown.length)}</p>
<ul id="catalog" class="grid">${catalog.templates.map((t) => card(t, shown.includes(t)))}</ul>
<p id="no-results" class="empty"${shown.length === 0 ? html`` : html` hidden`}>No agent matches that. Try another word, or describe your own agent to the Convos manager bot.</p>
</main>`,
  })
}

/** The template page; `pageUrl` and `imageUrl` are absolute (PUBLIC_URL) for the share metadata. */
export const templatePage = (t: Template, urls: { readonly pageUrl: string; readonly imageUrl: string }) =>
  layout({
    title: `${t.name}: a Convos agent`,
    description: t.description,
    head: html`<link rel="canonical" href="${urls.pageUrl}">
<meta property="og:type" content="website">
<meta property="og:site_name" content="Convos agents">
<meta property="og:title" content="${t.emoji} ${t.name}">
<meta property="og:description" content="${t.description}">
<meta property="og:url" content="${urls.pageUrl}">
<meta property="og:image" content="${urls.imageUrl}">
<meta property="og:image:width" content="1200">
<meta property="og:image:height" content="630">
<meta property="og:image:alt" content="${t.name}: ${t.description}">
<meta name="twitter:card" content="summary_large_image">
<meta name="twitter:title" content="${t.emoji} ${t.name}">
<meta name="twitter:description" content="${t.description}">
<meta name="twitter:image" content="${urls.imageUrl}">`,
    body: html`<main id="main" class="template" data-slug="${t.slug}">
<p class="crumbs"><a href="/">All agents</a> <span aria-hidden="true">›</span> <a href="/?category=${encodeURIComponent(t.category)}">${categoryLabel(t.category)}</a></p>
<div class="template-head">
<span class="emoji big" aria-hidden="true">${t.emoji}</span>
<div>
<h1>${t.name}</h1>
<p class="lead">${t.description}</p>
${skills(t)}
</div>
</div>
<details class="instructions">
<summary>What ${t.name} is told to do</summary>
<p>${t.instructions}</p>
</details>
<p id="availability" class="availability" role="status" aria-live="polite">Agents usually join within seconds.</p>
<noscript><p class="note">Adding an agent needs JavaScript. You can still share this page, or ask the Convos manager bot: “spawn a ${t.name.toLowerCase()} here”.</p></noscript>
<section id="add" class="panel" aria-labelledby="add-title">
<h2 id="add-title">Add to my conversation</h2>
<p>In Convos, open your conversation, copy its invite link, and paste it here. ${t.name} asks to join; if you are not the conversation's creator, the creator's app has to accept it.</p>
<form class="launch" data-mode="join" action="/a/${t.slug}/launch" method="post" hidden>
<label for="joinUrl">Your conversation's invite link</label>
<input id="joinUrl" name="joinUrl" type="url" required inputmode="url" autocomplete="off" spellcheck="false" placeholder="Paste the invite link here">
<button type="submit">Add ${t.name}</button>
</form>
<ol class="steps" aria-label="Progress"></ol>
<div class="outcome" role="status" aria-live="polite"></div>
</section>
<section id="start" class="panel" aria-labelledby="start-title">
<h2 id="start-title">Start a new conversation</h2>
<p>${t.name} starts a new conversation and gives you its invite link: open it in Convos, or scan the code.</p>
<form class="launch" data-mode="create" action="/a/${t.slug}/launch" method="post" hidden>
<button type="submit">Start a conversation with ${t.name}</button>
</form>
<ol class="steps" aria-label="Progress"></ol>
<div class="outcome" role="status" aria-live="polite"></div>
</section>
<section class="panel share" aria-labelledby="share-title">
<h2 id="share-title">Share this agent</h2>
<img src="/a/${t.slug}/qr.png" width="200" height="200" alt="QR code that opens this page">
<p><a href="${urls.pageUrl}">${urls.pageUrl}</a></p>
</section>
</main>`,
  })

export const notFoundPage = () =>
  layout({
    title: "Not found: Convos agents",
    description: "This page does not exist.",
    body: html`<main id="main"><h1>Not found</h1><p>There is no agent here. <a href="/">See all agents</a>.</p></main>`,
  })
