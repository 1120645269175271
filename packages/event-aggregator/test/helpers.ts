import {
  createMockUpstream,
  generateUserWithEvents,
  type MockServerHandle,
  type MockUpstream,
  type MockUpstreamOptions,
} from '@userevents/mock-server'
import { createUpstreamClient, type UpstreamClientOptions } from '@userevents/upstream-client'
import type { Event, User } from '../src/index.js'

/**
 * Users "u0", "u1", "u50", "u51", "u500" with that many events each (ids unique across users).
 * Each list is reversed, so the user's order differs from the numeric order of the ids and an
 * "order kept" assertion means something.
 */
export function usersWithEvents(counts: readonly number[] = [0, 1, 50, 51, 500]): {
  users: User[]
  events: Event[]
} {
  const users: User[] = []
  const events: Event[] = []
  let next = 1
  for (const n of counts) {
    const data = generateUserWithEvents(n, { userId: `u${n}`, firstEventId: next })
    next += n
    const [user] = data.users
    users.push({ ...user!, events: [...user!.events].reverse() })
    events.push(...data.events)
  }
  return { users, events }
}

/** A running mock on 127.0.0.1 and a real client pointed at it; `close()` stops both. */
export interface Upstream {
  mock: MockUpstream
  server: MockServerHandle
  client: ReturnType<typeof createUpstreamClient>
  close(): Promise<void>
}

/**
 * Starts the mock-server package's real HTTP server (healthy, no delays unless given) and a real
 * upstream client. Retries and the breaker are off unless `client` turns them on, so call counts
 * are exact.
 */
export async function startUpstream(
  mockOptions: MockUpstreamOptions = {},
  clientOptions: Partial<UpstreamClientOptions> = {},
): Promise<Upstream> {
  const mock = createMockUpstream({ mode: 'healthy', delays: 0, ...mockOptions })
  const server = await mock.listen()
  const client = createUpstreamClient({
    baseUrl: server.url,
    retry: false,
    breaker: false,
    ...clientOptions,
  })
  return {
    mock,
    server,
    client,
    async close() {
      await client.close()
      await server.close()
    },
  }
}

/**
 * Two upstreams behind one `get`: users come from `users`, events from `events`. The mock keeps
 * its data consistent (a user can only list events it has), so a dangling event id, which real
 * upstreams do have, is made by serving the user list from one mock and the events from another
 * that lacks some of them. Both are real servers behind real clients.
 */
export function splitClient(users: Upstream, events: Upstream) {
  return {
    get<T>(path: string, options?: { signal?: AbortSignal; requestId?: string }): Promise<T> {
      const target = path.startsWith('/getUserById/') ? users : events
      return target.client.get<T>(path, options)
    },
  }
}

/** `data` without the given event ids (removed from the events and from their users' lists). */
export function without(data: { users: User[]; events: Event[] }, ids: readonly string[]) {
  const drop = new Set(ids)
  return {
    users: data.users.map((u) => ({ ...u, events: u.events.filter((id) => !drop.has(id)) })),
    events: data.events.filter((e) => !drop.has(e.id)),
  }
}
