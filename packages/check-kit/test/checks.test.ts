import { expect, it, describe as suite } from 'vitest'
import {
  createChecks,
  describe,
  findUnknownKey,
  isHeaderToken,
  MAX_TIMER_MS,
  unknownKeyMessage,
} from '../src/index.js'

class TestOptionError extends Error {
  constructor(
    readonly option: string,
    message: string,
    readonly value: unknown,
  ) {
    super(message)
  }
}

const checks = createChecks((option, message, value) => {
  throw new TestOptionError(option, message, value)
})

function thrown(fn: () => unknown): TestOptionError {
  try {
    fn()
  } catch (error) {
    if (error instanceof TestOptionError) return error
    throw error
  }
  throw new Error('expected a throw')
}

suite('describe', () => {
  it('renders each kind of value briefly', () => {
    expect(describe('x')).toBe('"x"')
    expect(describe(-1)).toBe('-1')
    expect(describe(undefined)).toBe('undefined')
    expect(describe(null)).toBe('null')
    expect(describe(10n)).toBe('10n')
    expect(describe(() => 1)).toBe('a function')
    expect(describe([1, 2])).toBe('an array')
    expect(describe({ a: 1 })).toBe('{"a":1}')
    expect(describe({ a: 'x'.repeat(200) })).toHaveLength(80)
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(describe(cyclic)).toBe('an object')
  })
})

suite('createChecks', () => {
  it('throws the package error with the one message shape, naming the value', () => {
    const error = thrown(() => checks.positiveInteger('retry.retries', -1, 2))
    expect(error.message).toBe('Expected `retry.retries` to be a positive integer, got -1')
    expect(error.option).toBe('retry.retries')
    expect(error.value).toBe(-1)
  })

  it('returns the fallback for undefined and the value when valid', () => {
    expect(checks.positiveInteger('n', undefined, 7)).toBe(7)
    expect(checks.nonNegativeInteger('n', 0, 7)).toBe(0)
    expect(checks.integerBetween('n', 5, 1, 10, 3)).toBe(5)
    expect(checks.positiveNumber('n', Number.POSITIVE_INFINITY, 1, true)).toBe(
      Number.POSITIVE_INFINITY,
    )
    expect(checks.timerDelay('n', 0.5, 1)).toBe(0.5)
    expect(checks.timerMs('n', 0, 1)).toBe(0)
    expect(checks.headerName('h', 'x-request-id', 'a')).toBe('x-request-id')
  })

  it('rejects each bad value with its own expectation', () => {
    expect(thrown(() => checks.integerBetween('limit', 80, 1, 50, 10)).message).toBe(
      'Expected `limit` to be an integer between 1 and 50, got 80',
    )
    expect(thrown(() => checks.nonNegativeNumber('x', Number.NaN, 0)).message).toContain(
      'a non-negative number, got NaN',
    )
    expect(thrown(() => checks.positiveNumber('x', Number.POSITIVE_INFINITY, 1)).message).toContain(
      'a positive number, got Infinity',
    )
    expect(thrown(() => checks.timerDelay('x', MAX_TIMER_MS + 1, 1)).message).toContain(
      `a positive number up to ${MAX_TIMER_MS}`,
    )
    expect(thrown(() => checks.timerMs('x', -1, 1)).message).toContain('from 0 to 2147483647')
    expect(thrown(() => checks.headerName('h', 'bad header', 'a')).message).toBe(
      'Expected `h` to be a header name, got "bad header"',
    )
  })

  it('rejects the first unknown key with the valid keys listed', () => {
    const error = thrown(() =>
      checks.rejectUnknown('cache.', { ttlMs: 1, tll: 2 }, ['ttlMs', 'max']),
    )
    expect(error.message).toBe('Unknown option `cache.tll`; expected one of ttlMs, max')
    expect(error.option).toBe('cache.tll')
    expect(error.value).toBe(2)
    expect(() => checks.rejectUnknown('', { max: 1 }, ['max'])).not.toThrow()
    expect(findUnknownKey({ a: 1 }, ['a'])).toBeUndefined()
    expect(unknownKeyMessage('x', ['a', 'b'])).toBe('Unknown option `x`; expected one of a, b')
  })
})

suite('isHeaderToken', () => {
  it('accepts RFC 9110 tokens only', () => {
    expect(isHeaderToken('x-request-id')).toBe(true)
    expect(isHeaderToken("!#$%&'*+-.^_`|~09AZaz")).toBe(true)
    expect(isHeaderToken('')).toBe(false)
    expect(isHeaderToken('a b')).toBe(false)
    expect(isHeaderToken('a:b')).toBe(false)
    expect(isHeaderToken(1)).toBe(false)
  })
})
