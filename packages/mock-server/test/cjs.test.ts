import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// Packaging test: reads the built `dist/` on purpose. It runs after `build` (root `pnpm test`
// builds first) and is skipped, not passed, when nothing has been built yet.
const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url))

describe('CommonJS consumers', () => {
  it.skipIf(!existsSync(dist))('can require() the ESM build on Node >= 20.19', () => {
    const script = `
      const m = require(${JSON.stringify(dist)})
      const mock = m.createMockUpstream({ delays: 0 })
      console.log(JSON.stringify({ mode: mock.mode, handlers: mock.handlers.length, seed: typeof m.seedEvents }))
    `
    const out = spawnSync(process.execPath, ['--no-warnings', '-e', script], { encoding: 'utf8' })
    expect(out.stderr).toBe('')
    expect(JSON.parse(out.stdout)).toEqual({ mode: 'flapping', handlers: 16, seed: 'function' })
  })
})
