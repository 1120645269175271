#!/usr/bin/env node
// Proves that every publishable package is clean before a user finds out otherwise:
//   1. `publint --strict` on the package folder (exports map, files, types order);
//   2. `attw --pack --profile esm-only` (the types resolve for every ESM-capable resolver);
//   3. the tarball holds only dist, bin shims, README, LICENSE, CHANGELOG and package.json;
//   4. the packed tarballs are installed into a temporary project OUTSIDE the workspace, which
//      imports each package once from ESM and once through `require()` and runs a tiny call,
//      and runs every installed bin with `--help`;
//   5. the quick start of @userevents/fastify's README is compiled there (strict, nodenext,
//      against the installed packages) and run against the packed mock, and serves a page.
// Run after `pnpm build`. Exits non-zero on the first failing package, with the reason.
import { execFileSync, spawn } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '..')
const packagesDir = join(root, 'packages')

// A tiny call per package, written once and run as both module formats. `load` is `import()` in
// the ESM consumer and `require()` in the CommonJS one; each snippet must throw on failure.
const smoke = {
  '@userevents/upstream-client': `
    const m = await load('@userevents/upstream-client')
    const client = m.createUpstreamClient({ baseUrl: 'http://127.0.0.1:9' })
    if (client.circuitState !== 'closed') throw new Error('unexpected circuit state ' + client.circuitState)
    if (m.isUpstreamError(new Error('x'))) throw new Error('isUpstreamError accepted a plain Error')
    await client.close()`,
  '@userevents/mock-server': `
    const m = await load('@userevents/mock-server')
    const mock = m.createMockUpstream({ delays: { getEventById: 0 } })
    const server = await mock.listen()
    const res = await fetch(server.url + '/getUserById/1')
    const user = await res.json()
    await server.close()
    if (user.id !== '1') throw new Error('unexpected user ' + JSON.stringify(user))`,
  '@userevents/event-aggregator': `
    const m = await load('@userevents/event-aggregator')
    m.createEventAggregator({ client: { get: async () => ({}) } })
    const loader = m.createLoader({ load: async (id) => ({ id }) })
    const [a, b] = await loader.loadMany(['1', '2'])
    if (a.id !== '1' || b.id !== '2') throw new Error('unexpected loader result')
    const json = m.createPageSerializer()({ items: [], total: 0, limit: 50, offset: 0, missing: [] })
    if (JSON.parse(json).total !== 0) throw new Error('unexpected serializer output ' + json)`,
  // One real call when a redis-server can be started here (REDIS_SMOKE_URL, set below), else a
  // construction-only smoke: an unreachable Redis must still answer from the local path.
  '@userevents/redis': `
    const m = await load('@userevents/redis')
    const client = await load('@userevents/upstream-client')
    const url = process.env.REDIS_SMOKE_URL ?? 'redis://127.0.0.1:9'
    const store = m.createRedisStore({ url, namespace: 'smoke' + process.pid })
    if (!client.isSharedStore(store)) throw new Error('the store lacks the shared-store brand')
    if (process.env.REDIS_SMOKE_URL) await store.connection.ready()
    if (store.kind !== client.sharedStoreV2Kind) throw new Error('the store is not a v2 shared store')
    const first = await store.load('k', async () => ({ value: { n: 1 }, freshMs: 5000 }))
    const second = await store.load('k', async () => ({ value: { n: 2 }, freshMs: 5000 }))
    await store.close()
    const expected = process.env.REDIS_SMOKE_URL ? 'fetch,store,1' : 'local,local,2'
    const got = [first.source, second.source, second.value.n].join(',')
    if (got !== expected) throw new Error('unexpected store results ' + got + ', expected ' + expected)`,
  '@userevents/fastify': `
    const m = await load('@userevents/fastify')
    if (typeof m.userEvents !== 'function') throw new Error('userEvents is not a plugin function')
    const p = m.toHttpProblem(Object.assign(new Error('x'), { code: 'UPSTREAM_TIMEOUT' }))
    if (p.statusCode !== 500) throw new Error('a look-alike error without the brand mapped to ' + p.statusCode)
    if (m.parsePageQuery({ limit: '7' }).limit !== 7) throw new Error('parsePageQuery failed')`,
}

const run = (cmd, args, cwd = root) =>
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' })

const bin = (name) => join(root, 'node_modules', '.bin', name)

const publishable = readdirSync(packagesDir)
  .map((dir) => join(packagesDir, dir))
  .filter((dir) => {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
    return !pkg.private
  })

const work = mkdtempSync(join(tmpdir(), 'userevents-pack-'))
const tarballs = []
let failed = false

for (const dir of publishable) {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
  try {
    run(bin('publint'), ['--strict'], dir)
    run(bin('attw'), ['--pack', '.', '--profile', 'esm-only', '--format', 'ascii'], dir)
    const out = run('npx', ['-y', 'pnpm@10', 'pack', '--pack-destination', work], dir)
    const tarball = out.trim().split('\n').at(-1)
    const listing = run('tar', ['-tzf', tarball]).trim().split('\n')
    const unexpected = listing.filter(
      (file) =>
        !/^package\/(dist\/.+|bin\/[^/]+\.js|README\.md|LICENSE|package\.json|CHANGELOG\.md)$/.test(
          file,
        ),
    )
    if (unexpected.length > 0) throw new Error(`tarball holds unexpected files: ${unexpected}`)
    if (!listing.includes('package/LICENSE') || !listing.includes('package/README.md')) {
      throw new Error(`tarball misses LICENSE or README.md: ${listing.join(', ')}`)
    }
    tarballs.push(tarball)
    console.log(`ok   ${pkg.name}: publint --strict, attw esm-only, ${listing.length} files packed`)
  } catch (error) {
    failed = true
    console.error(`FAIL ${pkg.name}: ${error.message}\n${error.stdout ?? ''}${error.stderr ?? ''}`)
  }
}

if (!failed) {
  const consumer = join(work, 'consumer')
  mkdirSync(consumer)
  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, version: '0.0.0' }),
  )
  // Installed with npm, not pnpm: this is how most consumers will meet the packages, and it
  // proves the published manifests stand without the workspace around them.
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs], consumer)
  const redis = startRedis()
  // `@opentelemetry/api` is an optional peer dependency: npm must not have installed it, and the
  // packages must work without it and with it (then without an SDK registered).
  if (existsSync(join(consumer, 'node_modules', '@opentelemetry', 'api'))) {
    failed = true
    console.error('FAIL the packed install pulled in the optional peer @opentelemetry/api')
  }
  smokeAll(consumer, 'without @opentelemetry/api', redis)
  run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--loglevel=error', '@opentelemetry/api@^1.9.0'],
    consumer,
  )
  smokeAll(consumer, 'with @opentelemetry/api, no SDK', redis)
  if (redis) {
    redis.child.kill('SIGTERM')
    console.log('ok   @userevents/redis: smoke ran one real call against redis-server')
  } else {
    console.log('note @userevents/redis: no redis-server here, construction-only smoke')
  }
}

/** Runs every package's smoke snippet as ESM and as CommonJS in the consumer project. */
function smokeAll(consumer, label, redis) {
  for (const [name, body] of Object.entries(smoke)) {
    if (!tarballs.some((t) => t.includes(name.replace('@', '').replace('/', '-')))) continue
    writeFileSync(
      join(consumer, 'esm.mjs'),
      `const load = (id) => import(id)\n${body}\nconsole.log('esm ok')\n`,
    )
    writeFileSync(
      join(consumer, 'cjs.cjs'),
      `const load = async (id) => require(id)\n;(async () => {${body}\nconsole.log('cjs ok')\n})().catch((e) => { console.error(e); process.exit(1) })\n`,
    )
    for (const file of ['esm.mjs', 'cjs.cjs']) {
      try {
        execFileSync(process.execPath, [file], {
          cwd: consumer,
          stdio: ['ignore', 'pipe', 'pipe'],
          encoding: 'utf8',
          env: { ...process.env, ...(redis ? { REDIS_SMOKE_URL: redis.url } : {}) },
        })
        console.log(
          `ok   ${name}: ${file === 'esm.mjs' ? 'import' : 'require()'} from a packed install (${label})`,
        )
      } catch (error) {
        failed = true
        console.error(
          `FAIL ${name} (${file}, ${label}): ${error.stdout ?? ''}${error.stderr ?? error.message}`,
        )
      }
    }
  }
}

if (!failed) {
  // Every bin a package declares must be linked by the install and start.
  const consumer = join(work, 'consumer')
  for (const tarball of tarballs) {
    const listing = run('tar', ['-xOzf', tarball, 'package/package.json'])
    const { name, bin: bins = {} } = JSON.parse(listing)
    for (const command of Object.keys(bins)) {
      try {
        const out = run(join(consumer, 'node_modules', '.bin', command), ['--help'], consumer)
        if (!out.includes(command)) throw new Error(`--help does not name ${command}: ${out}`)
        console.log(`ok   ${name}: bin ${command} --help from a packed install`)
      } catch (error) {
        failed = true
        console.error(
          `FAIL ${name} bin ${command}: ${error.stdout ?? ''}${error.stderr ?? error.message}`,
        )
      }
    }
  }
}

if (!failed && tarballs.some((t) => t.includes('userevents-fastify'))) {
  try {
    await serveReadmeQuickStart(join(work, 'consumer'))
    console.log(
      'ok   @userevents/fastify: README quick start compiles and serves a page from a packed install',
    )
  } catch (error) {
    failed = true
    console.error(
      `FAIL @userevents/fastify README quick start: ${error.message}\n${error.stdout ?? ''}${error.stderr ?? ''}`,
    )
  }
}

rmSync(work, { recursive: true, force: true })

/** Starts a throw-away redis-server on a free port (stopped by pid), or returns undefined. */
function startRedis() {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 40_000)
    const child = spawn(
      process.env.REDIS_SERVER ?? 'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    )
    child.on('error', () => {})
    // Not installed: spawn has no pid.
    if (child.pid === undefined) return undefined
    // Wait (synchronously, this script is sequential) until it answers PING or gives up.
    for (let i = 0; i < 50; i++) {
      try {
        const out = execFileSync('redis-cli', ['-p', String(port), 'PING'], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        })
        if (out.trim() === 'PONG') return { child, url: `redis://127.0.0.1:${port}` }
      } catch {}
      execFileSync('sleep', ['0.1'])
    }
    // Port taken (or a slow start): stop it and try another port.
    child.kill('SIGKILL')
  }
  return undefined
}
process.exit(failed ? 1 : 0)

/**
 * Compiles the first ts block of the fastify README in the consumer (strict, nodenext, types of
 * the installed tarballs), starts the packed mock and the compiled service on free ports, and
 * checks a projected page. Both children are stopped by pid.
 */
async function serveReadmeQuickStart(consumer) {
  const readme = readFileSync(join(packagesDir, 'fastify', 'README.md'), 'utf8')
  const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1]
  if (!block) throw new Error('no ts block in packages/fastify/README.md')
  const dir = join(consumer, 'readme-app')
  mkdirSync(dir)
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }))
  writeFileSync(join(dir, 'server.ts'), block)
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        outDir: 'out',
        skipLibCheck: true,
        types: ['node'],
        typeRoots: [join(root, 'node_modules', '@types')],
      },
      files: ['server.ts'],
    }),
  )
  run(bin('tsc'), ['-p', dir], dir)
  const children = []
  const firstLine = (child, match) =>
    new Promise((resolve, reject) => {
      let buffer = ''
      const timer = setTimeout(
        () => reject(new Error(`no ${match} within 20 s: ${buffer}`)),
        20_000,
      )
      child.stdout.on('data', (chunk) => {
        buffer += chunk
        const found = match.exec(buffer)
        if (found) {
          clearTimeout(timer)
          resolve(found[1])
        }
      })
      child.on('exit', (code) => reject(new Error(`exited ${code} before ${match}: ${buffer}`)))
    })
  try {
    const mock = spawn(
      join(consumer, 'node_modules', '.bin', 'userevents-mock'),
      ['--port', '0', '--mode', 'healthy', '--no-delays'],
      { cwd: consumer, stdio: ['ignore', 'pipe', 'ignore'] },
    )
    children.push(mock)
    const upstream = await firstLine(mock, /(http:\/\/\S+)\n/)
    const app = spawn(process.execPath, ['out/server.js'], {
      cwd: dir,
      env: { ...process.env, UPSTREAM_BASE: upstream, PORT: '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    children.push(app)
    const base = await firstLine(app, /"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/)
    const res = await fetch(`${base}/users/1/events?limit=1&fields=name`)
    const body = await res.text()
    const expected =
      '{"items":[{"id":"1","name":"Login"}],"total":2,"limit":1,"offset":0,"missing":[]}'
    if (res.status !== 200 || body !== expected) {
      throw new Error(`GET /users/1/events answered ${res.status} ${body}`)
    }
    if (!res.headers.get('content-type')?.startsWith('application/json')) {
      throw new Error(
        `projected page without a JSON content type: ${res.headers.get('content-type')}`,
      )
    }
    const bad = await fetch(`${base}/users/1/events?limit=0x10`)
    if (
      bad.status !== 400 ||
      !bad.headers.get('content-type')?.startsWith('application/problem+json')
    ) {
      throw new Error(`limit=0x10 answered ${bad.status} ${bad.headers.get('content-type')}`)
    }
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM')
  }
}
