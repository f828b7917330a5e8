/** Persists the binding and recently handled message ids in the instance's state dir (survives restarts). */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { type BindingState, idle } from "./binding.ts"
import { writeJsonAtomic } from "./jsonFile.ts"

export interface PersistedInstance {
  readonly binding: BindingState
  /** Recently handled inbound message ids, newest last: each message is handled once, even across restarts. */
  readonly handledMessageIds: ReadonlyArray<string>
  /** Ids of messages we sent, newest last (reactions to them trigger a turn). */
  readonly ownMessageIds: ReadonlyArray<string>
  /** A join that first answered pending_acceptance completed and the pool has not been told yet. */
  readonly joinedNotificationPending: boolean
  /** The manager bot that provisioned us (never answered), or null. */
  readonly managerInboxId: string | null
}

export const emptyPersisted: PersistedInstance = {
  binding: idle,
  handledMessageIds: [],
  ownMessageIds: [],
  joinedNotificationPending: false,
  managerInboxId: null,
}

export interface BindingStore {
  load(): PersistedInstance
  save(value: PersistedInstance): void
}

export const fileBindingStore = (stateDir: string): BindingStore => {
  const path = join(stateDir, "binding.json")
  return {
    load() {
      let text: string
      try {
        text = readFileSync(path, "utf8")
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return emptyPersisted
        throw error
      }
      // A corrupt file must not silently unbind an instance: fail loudly so the operator looks.
      const parsed = JSON.parse(text) as Partial<PersistedInstance>
      if (typeof parsed.binding !== "object" || parsed.binding === null || typeof parsed.binding.phase !== "string")
        throw new Error(`${path} has no valid binding; refusing to start unbound`)
      return { ...emptyPersisted, ...parsed } as PersistedInstance
    },
    save(value) {
      writeJsonAtomic(path, value)
    },
  }
}

export const memoryBindingStore = (initial: PersistedInstance = emptyPersisted): BindingStore & { current: PersistedInstance } => {
  const store = {
    current: initial,
    load: () => store.current,
    save: (value: PersistedInstance) => {
      store.current = value
    },
  }
  return store
}
