import type { Call } from './call.js'
import { checks, fail } from './checks.js'
import type { Attempt, Step, UpstreamStep } from './pipeline.js'

/** @internal The `steps` option after validation: the user's steps of each scope, in order. */
export interface ResolvedSteps {
  call: Step<Call>[]
  attempt: Step<Attempt>[]
}

const KEYS = ['name', 'scope', 'run']

/** A step name: what error messages and docs quote. */
const NAME = /^[\x21-\x7e][\x20-\x7e]{0,63}$/

/**
 * @internal Validates the `steps` option (an array of {@link UpstreamStep}) and adapts each to
 * the pipeline: a user step's `next` takes no argument, so it can only run the rest of the
 * pipeline with the same call or attempt, never swap in another.
 */
export function resolveSteps(steps: unknown): ResolvedSteps {
  const resolved: ResolvedSteps = { call: [], attempt: [] }
  if (steps === undefined) return resolved
  if (!Array.isArray(steps)) fail('steps', 'an array of steps', steps)
  const names = new Set<string>()
  steps.forEach((step: unknown, i: number) => {
    const at = `steps[${i}]`
    if (typeof step !== 'object' || step === null) fail(at, 'an object { name, scope, run }', step)
    checks.rejectUnknown(`${at}.`, step, KEYS)
    const { name, scope, run } = step as Record<string, unknown>
    if (typeof name !== 'string' || !NAME.test(name)) {
      fail(`${at}.name`, 'a string of 1 to 64 printable ASCII characters', name)
    }
    if (names.has(name)) fail(`${at}.name`, 'a name no other step has', name)
    names.add(name)
    if (scope !== 'call' && scope !== 'attempt') fail(`${at}.scope`, "'call' or 'attempt'", scope)
    if (typeof run !== 'function') fail(`${at}.run`, 'a function (call, next) => Promise', run)
    const user = step as UpstreamStep
    if (user.scope === 'call') {
      const own = user.run.bind(user)
      resolved.call.push({ name, run: (call, next) => own(call, () => next(call)) })
    } else {
      const own = user.run.bind(user)
      resolved.attempt.push({ name, run: (attempt, next) => own(attempt, () => next(attempt)) })
    }
  })
  return resolved
}
