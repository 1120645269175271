import { describe, expect, it } from 'vitest'
import {
  createMockUpstream,
  generateDataSet,
  generateUserWithEvents,
  InvalidMockDataError,
  InvalidMockOptionError,
  isMockServerError,
  seedData,
} from '../src/index.js'

describe('option validation', () => {
  it.each([
    [
      { baseUrl: 'event.com' },
      'Expected `baseUrl` to be an http(s) URL without query or fragment, got "event.com"',
    ],
    [
      { mode: 'broken' },
      'Expected `mode` to be one of healthy, down, flapping, slow, brownout, got "broken"',
    ],
    [
      { delays: { getEventById: -1 } },
      'Expected `delays.getEventById` to be a non-negative number of milliseconds, got -1',
    ],
    [{ delays: 'fast' }, 'Expected `delays` to be a number or an object, got "fast"'],
    [
      { failureCycle: { succeed: 1.5 } },
      'Expected `failureCycle.succeed` to be a non-negative integer, got 1.5',
    ],
    [
      { failureCycle: { succeed: 0, fail: 0 } },
      'Expected `failureCycle` to be a cycle of at least one request, got {"succeed":0,"fail":0}',
    ],
    [{ networkErrorRate: 2 }, 'Expected `networkErrorRate` to be a number from 0 to 1, got 2'],
    [{ seed: 'abc' }, 'Expected `seed` to be an integer, got "abc"'],
    [
      { dealys: 0 },
      'Unknown option `dealys`; expected one of baseUrl, mode, delays, failureCycle, networkErrorRate, seed, data, retryAfterSeconds, brownout, quota, clock, recordRequests, cacheHeaders, tail',
    ],
    [
      { delays: { getEvent: 5 } },
      'Unknown option `delays.getEvent`; expected one of getUsers, getUserById, getEvents, getEventById, getEventsByIds, addEvent, addEventFailure, default, slowExtra',
    ],
    [
      { failureCycle: { succeeds: 1 } },
      'Unknown option `failureCycle.succeeds`; expected one of succeed, fail',
    ],
  ])('rejects %j', (options, message) => {
    const error = (() => {
      try {
        createMockUpstream(options as never)
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(InvalidMockOptionError)
    expect(isMockServerError(error)).toBe(true)
    expect((error as InvalidMockOptionError).code).toBe('MOCK_INVALID_OPTION')
    expect((error as Error).message).toBe(message)
  })

  it('rejects inconsistent data sets', () => {
    const dup = seedData()
    dup.users.push({ id: '1', userName: 'x', email: 'x', events: [] })
    expect(() => createMockUpstream({ data: dup })).toThrow(InvalidMockDataError)
    const dangling = seedData()
    dangling.users[0]!.events.push('99')
    expect(() => createMockUpstream({ data: dangling })).toThrow('User "1" lists event "99"')
    const unlisted = seedData()
    unlisted.users[0]!.events = ['1']
    expect(() => createMockUpstream({ data: unlisted })).toThrow('Event "2" is missing')
  })

  it('recognises errors by brand across copies', () => {
    const foreign = Object.assign(new Error('x'), {
      [Symbol.for('@userevents/mock-server/error')]: true,
    })
    expect(isMockServerError(foreign)).toBe(true)
    expect(isMockServerError(new Error('x'))).toBe(false)
  })
})

describe('data helpers', () => {
  it('copies the data set, so instances never share it', () => {
    const data = seedData()
    const a = createMockUpstream({ data })
    data.users[0]!.userName = 'changed'
    expect(a.store.getUser('1')?.userName).toBe('Alice')
    a.store.getUser('1')!.events.push('x')
    expect(a.store.getUser('1')?.events).toEqual(['1', '2'])
  })

  it('generates a user with N events and multi-user sets with unique ids', () => {
    const one = generateUserWithEvents(3, { userId: '9', detailsLength: 4 })
    expect(one.users).toEqual([
      { id: '9', userName: 'user-9', email: 'user-9@example.com', events: ['1', '2', '3'] },
    ])
    expect(one.events[2]).toEqual({ id: '3', name: 'event-3', userId: '9', details: 'xxxx' })
    const set = generateDataSet({ users: 3, eventsPerUser: 2 })
    expect(set.users.map((u) => u.events)).toEqual([
      ['1', '2'],
      ['3', '4'],
      ['5', '6'],
    ])
    expect(() => createMockUpstream({ data: set })).not.toThrow()
  })
})
