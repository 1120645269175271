import { InvalidMockDataError } from './errors/InvalidMockOptionError.js'
import type { Event, MockData, User } from './types.js'

/**
 * Read access to a mock's data, e.g. for asserting that `addEvent` stored an event exactly once.
 * Every method returns copies: mutating them does not change the mock.
 */
export interface MockStore {
  /** The user with this id, or `undefined`. */
  getUser(id: string): User | undefined
  /** The event with this id, or `undefined`. */
  getEvent(id: string): Event | undefined
  /** All events, in insertion order. */
  listEvents(): Event[]
  /** All users, in insertion order. */
  listUsers(): User[]
}

/** Internal store with the write operation the handlers need. */
export interface WritableStore extends MockStore {
  /** Internal: the stored event objects without copying, for the read routes. */
  rawEvent(id: string): Event | undefined
  rawEvents(): Iterable<Event>
  rawUser(id: string): User | undefined
  rawUsers(): Iterable<User>
  /** Stores the event and appends its id to its user's events. Caller checks uniqueness. */
  insert(event: Event): void
  /** The next numeric id that is not taken, for events posted without an id. */
  nextEventId(): string
}

/** Builds a per-instance store from a data set, after checking its consistency. */
export function createStore(data: MockData): WritableStore {
  const users = new Map<string, User>()
  const events = new Map<string, Event>()
  for (const user of data.users) {
    if (users.has(user.id))
      throw new InvalidMockDataError(`Duplicate user id ${JSON.stringify(user.id)}`)
    users.set(user.id, { ...user, events: [...user.events] })
  }
  for (const event of data.events) {
    if (events.has(event.id)) {
      throw new InvalidMockDataError(`Duplicate event id ${JSON.stringify(event.id)}`)
    }
    if (!users.has(event.userId)) {
      throw new InvalidMockDataError(
        `Event ${JSON.stringify(event.id)} belongs to unknown user ${JSON.stringify(event.userId)}`,
      )
    }
    events.set(event.id, { ...event })
  }
  const listed = new Set<string>()
  for (const user of users.values()) {
    for (const id of user.events) {
      if (listed.has(id)) {
        throw new InvalidMockDataError(`Event ${JSON.stringify(id)} is listed more than once`)
      }
      listed.add(id)
      const event = events.get(id)
      if (!event || event.userId !== user.id) {
        throw new InvalidMockDataError(
          `User ${JSON.stringify(user.id)} lists event ${JSON.stringify(id)}, which is not one of its events`,
        )
      }
    }
  }
  for (const event of events.values()) {
    if (!listed.has(event.id)) {
      throw new InvalidMockDataError(
        `Event ${JSON.stringify(event.id)} is missing from user ${JSON.stringify(event.userId)}'s events`,
      )
    }
  }
  let counter = 0
  for (const id of events.keys()) {
    const n = Number(id)
    if (Number.isSafeInteger(n) && n > counter) counter = n
  }

  return {
    getUser: (id) => copyUser(users.get(id)),
    getEvent: (id) => copyEvent(events.get(id)),
    listEvents: () => [...events.values()].map((e) => ({ ...e })),
    listUsers: () => [...users.values()].map((u) => ({ ...u, events: [...u.events] })),
    rawEvent: (id) => events.get(id),
    rawEvents: () => events.values(),
    rawUser: (id) => users.get(id),
    rawUsers: () => users.values(),
    insert(event) {
      events.set(event.id, event)
      users.get(event.userId)?.events.push(event.id)
    },
    nextEventId() {
      do counter++
      while (events.has(String(counter)))
      return String(counter)
    },
  }
}

/** Private: copy helpers that pass `undefined` through. */
function copyUser(user: User | undefined): User | undefined {
  return user && { ...user, events: [...user.events] }
}
function copyEvent(event: Event | undefined): Event | undefined {
  return event && { ...event }
}
