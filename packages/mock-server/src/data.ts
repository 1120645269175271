import type { Event, MockData, User } from './types.js'

/**
 * The default data set: the original upstream's 3 users and 4 events, with the original's
 * duplicate ids fixed. User 1 owns events "1" and "2", user 2 owns "3", user 3 owns "4".
 * Returns a fresh copy on every call, so instances never share mutable data.
 */
export function seedData(): MockData {
  const users: User[] = [
    { id: '1', userName: 'Alice', email: 'alice@example.com', events: ['1', '2'] },
    { id: '2', userName: 'Bob', email: 'bob@example.com', events: ['3'] },
    { id: '3', userName: 'Charlie', email: 'charlie@example.com', events: ['4'] },
  ]
  const events: Event[] = [
    { id: '1', name: 'Login', userId: '1', details: 'User logged in' },
    { id: '2', name: 'Purchase', userId: '1', details: 'User purchased an item' },
    { id: '3', name: 'Logout', userId: '2', details: 'User logged out' },
    { id: '4', name: 'Signup', userId: '3', details: 'User signed up' },
  ]
  return { users, events }
}

/** Options of {@link generateUserWithEvents}. */
export interface GenerateUserOptions {
  /** Id of the generated user. Default `'1'`. */
  userId?: string
  /** Number of the first event id; ids are consecutive decimal strings. Default `1`. */
  firstEventId?: number
  /** Length of each event's `details` string, to make payloads heavier. Default `16`. */
  detailsLength?: number
}

/**
 * Generates a data set with a single user owning `n` events, for benchmarks
 * (e.g. the aggregator's fan-out over N `getEventById` calls).
 *
 * @example
 * const mock = createMockUpstream({ data: generateUserWithEvents(500), delays: { getEventById: 5 } })
 */
export function generateUserWithEvents(n: number, options: GenerateUserOptions = {}): MockData {
  const userId = options.userId ?? '1'
  const first = options.firstEventId ?? 1
  const detailsLength = options.detailsLength ?? 16
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`Expected \`n\` to be a non-negative integer, got ${String(n)}`)
  }
  const events: Event[] = []
  for (let i = 0; i < n; i++) {
    const id = String(first + i)
    events.push({ id, name: `event-${id}`, userId, details: 'x'.repeat(detailsLength) })
  }
  const user: User = {
    id: userId,
    userName: `user-${userId}`,
    email: `user-${userId}@example.com`,
    events: events.map((e) => e.id),
  }
  return { users: [user], events }
}

/** Options of {@link generateDataSet}. */
export interface GenerateDataSetOptions {
  /** Number of users, with ids "1".."users". Default `3`. */
  users?: number
  /** Number of events per user; event ids are unique across users. */
  eventsPerUser: number
  /** Length of each event's `details`. Default `16`. */
  detailsLength?: number
}

/**
 * Generates several users with `eventsPerUser` events each (used by `userevents-mock
 * --events-per-user N`). Event ids are consecutive decimal strings, unique across users.
 */
export function generateDataSet(options: GenerateDataSetOptions): MockData {
  const userCount = options.users ?? 3
  const data: MockData = { users: [], events: [] }
  for (let u = 1; u <= userCount; u++) {
    const part = generateUserWithEvents(options.eventsPerUser, {
      userId: String(u),
      firstEventId: (u - 1) * options.eventsPerUser + 1,
      detailsLength: options.detailsLength ?? 16,
    })
    data.users.push(...part.users)
    data.events.push(...part.events)
  }
  return data
}
