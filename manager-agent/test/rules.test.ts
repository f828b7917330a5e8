import { describe, expect, it } from "vitest"
import { Intent, type MessageContext, type TemplateInfo } from "../src/intent/Intent.ts"
import { fixVerbTypo, leadingRef } from "../src/intent/lexicon.ts"
import { isAddressed, parseByRules, stripMention } from "../src/intent/rules.ts"

const group: MessageContext = { conversation: "group", managerName: "Manager" }
const dm: MessageContext = { conversation: "dm", managerName: "Manager" }
const groupWithRemy: MessageContext = { ...group, knownAgents: ["Remy", "Trip Planner"] }

const templates: ReadonlyArray<TemplateInfo> = [
  { slug: "chef", name: "Chef", emoji: "🧑‍🍳", description: "Recipes and meal plans", instructions: "You are Chef, a cooking companion." },
  { slug: "trip-planner", name: "Trip Planner", emoji: "🧳", description: "Plans trips", instructions: "You are Trip Planner, an itinerary expert." },
]

type Expected = Record<string, unknown> & { kind: Intent["kind"] }

// [text, context, expected subset of the intent]
const table: ReadonlyArray<readonly [string, MessageContext, Expected]> = [
  // spawn, in a group, without mentioning the manager: obvious commands
  ["spawn a trip planner here", group, { kind: "spawn", name: "Trip Planner", role: "trip planner", template: "trip-planner" }],
  ["Spawn a trip planner here!", group, { kind: "spawn", name: "Trip Planner" }],
  ["add a chef here", group, { kind: "spawn", name: "Chef", template: "chef" }],
  ["add a chef", group, { kind: "spawn", name: "Chef" }],
  ["create a fitness coach", group, { kind: "spawn", name: "Fitness Coach", role: "fitness coach" }],
  ["summon a wizard", group, { kind: "spawn", name: "Wizard" }],
  ["summon a dragon", group, { kind: "spawn", name: "Dragon" }],
  ["bring in a translator", group, { kind: "spawn", name: "Translator" }],
  ["bring a sommelier to this group", group, { kind: "spawn", name: "Sommelier" }],
  ["get me a research assistant", group, { kind: "spawn", name: "Research Assistant" }],
  ["get us a DJ", group, { kind: "spawn", name: "DJ" }],
  ["invite a book critic to the chat", group, { kind: "spawn", name: "Book Critic" }],
  ["please add a movie buff bot here", group, { kind: "spawn", name: "Movie Buff Bot" }],
  ["can you spawn a study buddy for us?", group, { kind: "spawn", name: "Study Buddy" }],
  ["could you add a budget tracker please", group, { kind: "spawn", name: "Budget Tracker" }],
  ["/spawn chef", group, { kind: "spawn", name: "Chef", template: "chef" }],
  ["hire a copywriter", group, { kind: "spawn", name: "Copywriter" }],
  ["spawn a trip planner for Tokyo in March, budget-minded", group, { kind: "spawn", name: "Trip Planner", role: "trip planner" }],
  ["spawn a chef called Remy", group, { kind: "spawn", name: "Remy", role: "chef", template: "chef" }],
  ["add a tutor named Ada who teaches calculus", group, { kind: "spawn", name: "Ada", role: "tutor" }],
  ["spawn an italian chef who loves pasta, call it Luigi", group, { kind: "spawn", name: "Luigi" }],
  // spawn addressed to the manager (mention, DM, reply)
  ["@Manager spawn a trip planner", group, { kind: "spawn", name: "Trip Planner" }],
  ["Manager, make us a pirate", group, { kind: "spawn", name: "Pirate" }],
  ["hey manager can you create a haiku machine", group, { kind: "spawn", name: "Haiku Machine" }],
  ["make me a chef", dm, { kind: "spawn", name: "Chef", template: "chef" }],
  ["I need a lawyer", dm, { kind: "spawn", name: "Lawyer" }],
  ["i want a personal stylist", dm, { kind: "spawn", name: "Personal Stylist" }],
  ["give me a standup comedian", dm, { kind: "spawn", name: "Standup Comedian" }],
  ["can I get a spanish teacher?", dm, { kind: "spawn", name: "Spanish Teacher" }],
  // Said to the manager, a command verb still needs a role: "create a plan" is not an agent (issue 13: a false
  // spawn is worse than none).
  ["create a plan", dm, { kind: "none" }],
  ["create a haiku machine", dm, { kind: "spawn", name: "Haiku Machine" }],
  ["make us a garden guru", { ...group, repliesToManager: true }, { kind: "spawn", name: "Garden Guru" }],
  // list
  ["who's here", group, { kind: "list" }],
  ["Who is here?", group, { kind: "list" }],
  ["who\u2019s in this group", group, { kind: "list" }],
  ["list agents", group, { kind: "list" }],
  ["list the bots", group, { kind: "list" }],
  ["/list", group, { kind: "list" }],
  ["show me the agents", group, { kind: "list" }],
  ["which agents are here?", group, { kind: "list" }],
  ["what bots do we have", group, { kind: "list" }],
  ["@manager list", group, { kind: "list" }],
  // remove
  ["remove the trip planner", group, { kind: "remove", agent: "trip planner" }],
  ["kick the chef", group, { kind: "remove", agent: "chef" }],
  ["kick out the translator please", group, { kind: "remove", agent: "translator" }],
  ["stop the fitness coach", group, { kind: "remove", agent: "fitness coach" }],
  ["remove Remy", groupWithRemy, { kind: "remove", agent: "Remy" }],
  ["Remy, leave", groupWithRemy, { kind: "remove", agent: "Remy" }],
  ["get rid of the DJ bot", group, { kind: "remove", agent: "DJ bot" }],
  ["@Manager remove Bob", group, { kind: "remove", agent: "Bob" }],
  ["fire the research assistant from this group", group, { kind: "remove", agent: "research assistant" }],
  // rename
  ["rename the trip planner to Marco", group, { kind: "rename", agent: "trip planner", newName: "Marco" }],
  ["rename Remy to Chef Remy", groupWithRemy, { kind: "rename", agent: "Remy", newName: "Chef Remy" }],
  ["change the chef's name to Julia", group, { kind: "rename", agent: "chef", newName: "Julia" }],
  ["Manager, rename Bob as Robert", group, { kind: "rename", agent: "Bob", newName: "Robert" }],
  // instruct
  ["tell the trip planner to focus on budget hotels", group, { kind: "instruct", agent: "trip planner", instructions: "Focus on budget hotels." }],
  ["instruct the chef to suggest only vegan dishes", group, { kind: "instruct", agent: "chef" }],
  ["ask Remy to answer in French", groupWithRemy, { kind: "instruct", agent: "Remy", instructions: "Answer in French." }],
  ["set the tutor's instructions to be patient and use examples", group, { kind: "instruct", agent: "tutor" }],
  // join
  ["join this https://dev.convos.org/v2?i=abc123-_xyz", dm, { kind: "join", inviteUrl: "https://dev.convos.org/v2?i=abc123-_xyz" }],
  ["https://popup.convos.org/v2?i=QWERTY", dm, { kind: "join", inviteUrl: "https://popup.convos.org/v2?i=QWERTY" }],
  ["@Manager please join https://dev.convos.org/v2?i=zz9", group, { kind: "join" }],
  // templates
  ["templates", group, { kind: "templates" }],
  ["show me the templates", dm, { kind: "templates" }],
  ["what kinds of agents can you make?", group, { kind: "templates" }],
  // help
  ["help", dm, { kind: "help" }],
  ["/help", group, { kind: "help" }],
  ["@Manager help", group, { kind: "help" }],
  ["what can you do?", dm, { kind: "help" }],
  ["@Manager", group, { kind: "help" }],
  ["how does this work", { ...group, repliesToManager: true }, { kind: "help" }],
  // ordinary group chatter: none
  ["lol that's hilarious", group, { kind: "none" }],
  ["I'll add milk to the shopping list", group, { kind: "none" }],
  ["add milk to the shopping list", group, { kind: "none" }],
  ["create a plan for the weekend", group, { kind: "none" }],
  ["get me a coffee on your way", group, { kind: "none" }],
  ["stop it", group, { kind: "none" }],
  ["stop talking about work", group, { kind: "none" }],
  ["kick the ball", group, { kind: "none" }],
  ["remove Bob", group, { kind: "none" }],
  ["tell John to bring snacks", group, { kind: "none" }],
  // A bare "help" is answered wherever the manager is (issue 13); "help me …" in a group stays chatter.
  ["help", group, { kind: "help" }],
  ["help me with the dishes", group, { kind: "none" }],
  ["what can you do?", group, { kind: "none" }],
  ["I need a vacation", group, { kind: "none" }],
  ["make me a sandwich", group, { kind: "none" }],
  ["who's coming tonight?", group, { kind: "none" }],
  ["check this out https://dev.convos.org/v2?i=abc", group, { kind: "none" }],
  ["let's invite Sarah", group, { kind: "none" }],
  ["invite Sarah", group, { kind: "none" }],
  ["bring a jacket, it's cold", group, { kind: "none" }],
  ["the manager said we should meet at 5", group, { kind: "none" }],
  ["", group, { kind: "none" }],
  ["   ", dm, { kind: "none" }],
  ["hello", dm, { kind: "none" }],
  ["thanks!", dm, { kind: "none" }],
]

describe("rule-based intent parser", () => {
  it("covers at least 60 phrasings, including chatter that must be none", () => {
    expect(table.length).toBeGreaterThanOrEqual(60)
    expect(table.filter(([, , expected]) => expected.kind === "none").length).toBeGreaterThanOrEqual(15)
  })

  it.each(table)("%j (%o) → %o", (text, ctx, expected) => {
    const intent = parseByRules(text, ctx, templates)
    expect(intent).toMatchObject(expected)
    // Every result is a valid intent value (the same zod schema the model path is checked against).
    expect(Intent.safeParse(intent).success).toBe(true)
  })

  it("turns the details of a spawn request into the persona", () => {
    const intent = parseByRules("spawn a trip planner for Tokyo in March, budget-minded", group)
    expect(intent.kind).toBe("spawn")
    if (intent.kind !== "spawn") return
    expect(intent.instructions).toContain("You are Trip Planner, a trip planner for Tokyo in March, budget-minded.")
  })

  it("builds the persona on a matching template's instructions and keeps the request's details", () => {
    const intent = parseByRules("spawn a trip planner for Tokyo in March", group, templates)
    if (intent.kind !== "spawn") throw new Error(`expected spawn, got ${intent.kind}`)
    expect(intent.instructions).toContain("You are Trip Planner, an itinerary expert.")
    expect(intent.instructions).toContain("trip planner for Tokyo in March")
  })

  it("clips over-long names to the profile-name limit", () => {
    const intent = parseByRules(`spawn a chef called ${"X".repeat(100)}`, group)
    if (intent.kind !== "spawn") throw new Error(`expected spawn, got ${intent.kind}`)
    expect(intent.name.length).toBeLessThanOrEqual(40)
  })
})

describe("addressing", () => {
  it("treats DMs, replies and mentions as addressed, and plain group messages as not", () => {
    expect(isAddressed("anything", dm)).toBe(true)
    expect(isAddressed("anything", { ...group, repliesToManager: true })).toBe(true)
    expect(isAddressed("@Manager hi", group)).toBe(true)
    expect(isAddressed("ok manager, list", group)).toBe(true)
    expect(isAddressed("the manager said hi", group)).toBe(false)
  })

  it("strips a leading mention and a trailing vocative", () => {
    expect(stripMention("@Manager spawn a chef", "Manager")).toEqual({ text: "spawn a chef", mentioned: true })
    expect(stripMention("list the agents, manager", "Manager")).toEqual({ text: "list the agents", mentioned: true })
    expect(stripMention("spawn a chef", "Manager")).toEqual({ text: "spawn a chef", mentioned: false })
  })
})

describe("reading agent references and verbs", () => {
  const crew: MessageContext = { ...group, knownAgents: ["Remy", "Trip Planner"] }

  it("reads a known agent, a determiner and a role, or a template's name at the start of a phrase", () => {
    expect(leadingRef("Remy's job is now to cook", crew, false, templates)).toEqual({ ref: "Remy", rest: "'s job is now to cook", known: true })
    expect(leadingRef("the trip planner should only look at trains", crew, false, templates)).toMatchObject({ ref: "Trip Planner", known: true })
    expect(leadingRef("the study buddy can go", crew, false, templates)).toEqual({ ref: "study buddy", rest: "can go", known: false })
    expect(leadingRef("chef, answer in French", group, false, templates)).toMatchObject({ ref: "chef" })
  })

  it("does not read chatter as a reference: a person, a role inside a longer phrase, a bare role to nobody", () => {
    expect(leadingRef("Sam to bring the tent", crew, false, templates)).toBeUndefined()
    expect(leadingRef("the garlic from the chef", crew, false, templates)).toBeUndefined()
    expect(leadingRef("coach says rest", group, false, templates)).toBeUndefined()
    // Addressed to the manager, a capitalised name is a reference ("make Jarvis talk like a butler").
    expect(leadingRef("Jarvis talk like a butler", dm, true, templates)).toMatchObject({ ref: "Jarvis" })
  })

  it("forgives one slip in a command verb and nothing else", () => {
    expect(fixVerbTypo("spwan a chef")).toBe("spawn a chef")
    expect(fixVerbTypo("remvoe Remy")).toBe("remove Remy")
    expect(fixVerbTypo("spain is lovely")).toBe("spain is lovely")
    expect(fixVerbTypo("spawn a chef")).toBe("spawn a chef")
  })

  it("never reads a question or a description of an agent as an instruction", () => {
    expect(parseByRules("Remy should be here by now, no?", crew)).toEqual({ kind: "none" })
    expect(parseByRules("Remy always suggests pasta haha", crew)).toEqual({ kind: "none" })
    expect(parseByRules("Remy should always include calories", crew)).toMatchObject({ kind: "instruct", agent: "Remy" })
  })
})
