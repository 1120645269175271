import type { BrownoutOptions } from '../brownout.js'
import { checkMode } from '../options.js'
import type { MockState } from '../state.js'
import type { MockMode } from '../types.js'
import { badRequest, type CoreAnswer, json } from './exchange.js'
import type { CoreRoute } from './route.js'

/** Internal: the admin routes (`/__admin/…`): mode and counters. Not counted, not recorded. */
export function adminRoutes(
  state: MockState,
  setMode: (mode: MockMode, brownout?: BrownoutOptions) => void,
): CoreRoute[] {
  return [
    { method: 'GET', path: '/__admin/mode', serve: async () => json({ mode: state.mode }) },
    {
      method: 'POST',
      path: '/__admin/mode',
      serve: async (request) => changeMode(state, setMode, await request.json()),
    },
    {
      method: 'GET',
      path: '/__admin/calls',
      serve: async () =>
        json({
          calls: state.counters.calls(),
          inFlight: state.counters.inFlight(),
          highWater: state.counters.highWater(),
          capacity: jsonStats(state),
        }),
    },
    {
      method: 'POST',
      path: '/__admin/calls/reset',
      serve: async () => {
        state.counters.reset()
        state.gate.reset()
        return json({ calls: state.counters.calls() })
      },
    },
  ]
}

/** Private: `POST /__admin/mode` `{ mode, brownout? }`; a `400` quoting a bad value. */
function changeMode(
  state: MockState,
  setMode: (mode: MockMode, brownout?: BrownoutOptions) => void,
  body: unknown,
): CoreAnswer {
  const given = body as { mode?: unknown; brownout?: BrownoutOptions } | undefined
  try {
    const previous = state.mode
    setMode(checkMode('mode', given?.mode), given?.brownout)
    return json({
      mode: state.mode,
      previous,
      ...(state.mode === 'brownout' ? { brownout: jsonBrownout(state) } : {}),
    })
  } catch (error) {
    return badRequest((error as Error).message)
  }
}

/** Private: JSON has no Infinity; an unbounded capacity is written as `null`. */
function jsonBrownout(state: MockState) {
  const b = state.brownout
  return { ...b, capacity: Number.isFinite(b.capacity) ? b.capacity : null }
}

/** Private: the capacity queue's counters for the admin route (`null` for an unbounded one). */
function jsonStats(state: MockState) {
  const stats = state.gate.stats()
  return { ...stats, capacity: Number.isFinite(stats.capacity) ? stats.capacity : null }
}
