/**
 * Everything the manager says in chat. One short line each; no id, token, key or raw error ever goes in here (the
 * functions take names and numbers, never error objects).
 */
import type { TemplateInfo } from "../intent/Intent.ts"
import type { AgentRecord, RemovalReport } from "./policy.ts"

/** Categories in order of first appearance (the catalog's: featured first), each with its templates in order. */
const byCategory = (templates: ReadonlyArray<TemplateInfo>) => {
  const groups = new Map<string, Array<TemplateInfo>>()
  for (const t of templates) {
    const label = (t.category ?? "other").replace(/^./, (c) => c.toUpperCase()).replace(/-/g, " ")
    groups.set(label, [...(groups.get(label) ?? []), t])
  }
  return [...groups]
}

const help = (managerName: string) =>
  [
    `I'm ${managerName}: I add AI agents to this chat. Try:`,
    '• "spawn a trip planner here" (or add / create / summon …)',
    '• "who\'s here" to list the agents I added',
    '• "remove the trip planner", "rename Chef to Remy", "tell Chef to cook vegan"',
    '• "templates" for ready-made agents',
    "Only whoever added an agent, or a group admin, can remove or change it.",
  ].join("\n")

export const replies = {
  help,
  intro: (managerName: string) =>
    `Hi, I'm ${managerName}. Ask me to "spawn a trip planner here" (or any agent you like) and it joins this chat; "help" for more.`,
  didNotUnderstand: () => 'Sorry, I didn\'t get that. Try "spawn a trip planner here", "who\'s here" or "help".',
  joining: (name: string) => `${name} is joining…`,
  createdDm: (name: string, inviteUrl: string) => `${name} is ready in its own conversation. Join it here: ${inviteUrl}`,
  cannotAddMembers: (name: string) =>
    `I'm not allowed to add members here. A group admin can let me add members (or make me an admin), then ask again for ${name}.`,
  noCapacity: () => "I have no room for another agent right now. Please ask again later.",
  gettingReady: (name: string, etaSeconds: number) => `${name} is getting ready, about ${Math.max(1, Math.round(etaSeconds))} s.`,
  welcome: (managerName: string) =>
    [`Hi, this is your own conversation with me, ${managerName}: nobody else is in it.`, help(managerName)].join("\n"),
  spawnFailed: (name: string) => `${name} couldn't start, sorry. Nothing was added; please try again.`,
  conversationFull: (limit: number) => `This chat already has ${limit} agents, the most I can add. Remove one first.`,
  rateLimited: (limit: number, minutes: number) =>
    `You've asked for ${limit} agents in the last hour, the limit. Try again in about ${minutes} min.`,
  busy: (minutes: number | null) =>
    minutes === null
      ? "I'm running as many agents as I may right now, so I can't start another. Please ask again later."
      : `I've started as many agents as I may this hour, for everyone together. Try again in about ${minutes} min.`,
  list: (agents: ReadonlyArray<AgentRecord>) =>
    agents.length === 0
      ? 'No agents of mine here yet. Say "spawn a trip planner here" to add one.'
      : `Agents here: ${agents.map((a) => a.agentName).join(", ")}.`,
  notFound: (ref: string) => `I don't see an agent called "${clipRef(ref)}" that I added here. Say "who's here" to list them.`,
  ambiguous: (candidates: ReadonlyArray<AgentRecord>) =>
    `Which one: ${candidates.map((a) => a.agentName).join(" or ")}?`,
  notAllowed: (name: string) => `Sorry, only whoever added ${name}, or a group admin, can do that.`,
  removal: (name: string, report: RemovalReport) => {
    switch (report) {
      case "left":
        return `${name} has left and been shut down.`
      case "leaving":
        return `${name} is shut down and has asked to leave; a group admin's app takes it off the member list when it next syncs.`
      case "shut_down":
        return `${name} is shut down and won't answer anymore.`
      case "still_member_not_allowed":
        return `${name} is shut down but still listed here: I'm not allowed to remove members, so a group admin can remove it.`
      case "still_member":
        return `${name} is shut down but still listed here; a group admin can remove it from the member list.`
    }
  },
  pausedForAgents: (minutes: number) =>
    `I'm pausing my replies to agents in this chat for about ${minutes} min, so bots can't keep a loop going through me. If you're a person whose app shows you as an agent, ask again after that.`,
  removeFailed: (name: string) => `I couldn't remove ${name} right now; please try again in a moment.`,
  renamed: (oldName: string, newName: string) => `${oldName} is now called ${newName}.`,
  alreadyCalled: (name: string) => `${name} is already called that.`,
  nameTaken: (name: string) => `Another agent here is already called ${name}; pick a different name.`,
  instructed: (name: string) => `Got it: ${name} has its new instructions.`,
  changeFailed: (name: string) => `I couldn't update ${name} right now; please try again in a moment.`,
  templates: (templates: ReadonlyArray<TemplateInfo>) =>
    templates.length === 0
      ? 'No ready-made agents yet, but describe any agent and I\'ll make it: "spawn a chess coach here".'
      : templates.length <= 8 || templates.some((t) => t.category === undefined)
      ? [
          "Ready-made agents (or describe your own):",
          ...templates.map((t) => `${t.emoji} ${t.name}: ${t.description}`),
        ].join("\n")
      : [
          // A long catalog would fill the chat: one line per category, names only.
          "Ready-made agents (or describe your own):",
          ...byCategory(templates).map(([category, list]) =>
            `${category}: ${list.map((t) => `${t.emoji} ${t.name}`).join(", ")}`),
          `Say "spawn a ${templates[0]!.name.toLowerCase()} here" to add one.`,
        ].join("\n"),
  joinDone: () => "I'm in that conversation now.",
  joinPending: () => "I've asked to join; I'll be in as soon as the conversation's creator accepts.",
  ownLink: () => "That's my own invite link: share it with whoever wants a conversation with me. To bring me into a chat, send me that chat's link.",
  joinFailed: () => "That invite link didn't work. Check that it's a current Convos invite and send it again.",
} as const

const clipRef = (ref: string) => (ref.length > 40 ? `${ref.slice(0, 39)}…` : ref)
