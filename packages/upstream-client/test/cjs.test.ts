import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'

const packageDir = fileURLToPath(new URL('..', import.meta.url))
const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url))

describe('packaging', () => {
  beforeAll(() => {
    // The other tests run against src/; this one needs the built output a consumer installs.
    if (!existsSync(dist)) execFileSync('npx', ['tsup'], { cwd: packageDir, stdio: 'ignore' })
  }, 60_000)

  it('can be require()d by a CommonJS consumer (Node >= 20.19 require(esm))', () => {
    const script = `
      const m = require('@userevents/upstream-client')
      const c = m.createUpstreamClient({ baseUrl: 'http://127.0.0.1:1' })
      const e = new m.CircuitOpenError({ method: 'GET', url: 'u', attempts: 0, breaker: 'b', retryAfterMs: 1 })
      process.stdout.write(JSON.stringify({
        create: typeof m.createUpstreamClient,
        state: c.circuitState,
        guard: m.isUpstreamErrorCode(e, 'UPSTREAM_CIRCUIT_OPEN'),
      }))
      c.close()
    `
    const out = execFileSync(process.execPath, ['--no-warnings', '-e', script], {
      cwd: packageDir,
      encoding: 'utf8',
    })
    expect(JSON.parse(out)).toEqual({ create: 'function', state: 'closed', guard: true })
  })
})
