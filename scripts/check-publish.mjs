#!/usr/bin/env node
// Release rehearsal against a real registry. In a throw-away copy of the repository it:
//   1. starts Verdaccio (tools/registry) on 127.0.0.1 with its storage in a temporary folder and no
//      uplinks, registers a throw-away user and writes its token to a temporary npmrc;
//   2. runs `pnpm install --offline --frozen-lockfile`, strips `publishConfig.provenance` (the copy
//      only: provenance needs the OIDC token of a CI run, and publishConfig beats the environment),
//      versions any pending changesets (as the merged "version packages" pull request would),
//      and runs `pnpm release`, the script the release workflow runs, against that registry;
//   3. checks what the registry now serves: every public package under packages/ at its version,
//      `latest` pointing at it, no `workspace:` range left, and every range on an @userevents
//      package admitting that package's latest published version;
//   4. installs a fresh consumer with plain npm, by semver range, depending only on CONSUMER_DEPS;
//      imports and require()s every published package, makes one real call with the client
//      against the mock's loopback server, and runs every published bin with --help;
//   5. adds a minor changeset for the client, runs `pnpm version-packages` and `pnpm release`
//      again, runs `npm update` in the consumer and checks that its tree holds exactly one copy of
//      each @userevents package, at the latest published version (for the client: the new minor);
//   6. stops the registry and removes every temporary folder, on every exit path.
// What only the real release can prove (provenance, the npm token, the public registry's policies)
// is listed in CONTRIBUTING.md. Runs from `.ci/run`, not from `pnpm test`.
//
// Environment:
//   CHECK_PUBLISH_TIMEOUT_MS   overall bound, default 480000 (8 minutes); on expiry everything is
//                              stopped and the script fails naming the step it was in.
//   CHECK_PUBLISH_INJECT       `stale-client-range`: before the second publish, the copy's first
//                              dependent of the client is given the old client's range instead of
//                              `workspace:^`, a defect only an install from a registry shows. The
//                              rehearsal must then fail naming that package.
//   CHECK_PUBLISH_KEEP=1       keep the temporary folder (printed) for inspection.
import { spawn } from 'node:child_process'
import {
  cpSync,
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
import semver from 'semver'

const root = resolve(import.meta.dirname, '..')
const registryTool = join(root, 'tools', 'registry')
const BUDGET_MS = Number(process.env.CHECK_PUBLISH_TIMEOUT_MS ?? 480_000)
const INJECT = process.env.CHECK_PUBLISH_INJECT ?? ''
const KNOWN_INJECTIONS = ['', 'stale-client-range']
const CLIENT = '@userevents/upstream-client'

// What the consumer depends on, by semver range, and nothing else. With the Fastify plugin it is
// the plugin and the mock (the plugin's peers, client and aggregator, come through npm's peer
// install). Without it, the aggregator and the mock: the client comes in through the aggregator.
// The consumer deliberately does not depend on the client itself: on 0.x, `^0.1.0` does not admit
// 0.2.0, so a direct dependency would keep the old client and `npm update` could never converge
// to one copy of the new minor.
const CONSUMER_DEPS = existsSync(join(root, 'packages', 'fastify', 'package.json'))
  ? ['@userevents/fastify', '@userevents/mock-server']
  : ['@userevents/event-aggregator', '@userevents/mock-server']

const started = Date.now()
const deadline = started + BUDGET_MS
const work = mkdtempSync(join(tmpdir(), 'userevents-publish-'))
const copy = join(work, 'repo')
const consumer = join(work, 'consumer')
const children = new Set()
let registry
let step = 'setup'
let finished = false

const log = (line) => console.log(line)
const enter = (name) => {
  step = name
  log(`--- ${name} (${elapsed()})`)
}
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`

class CheckFailure extends Error {}

// A variable set by a CI runner or a developer's shell must never reach the rehearsal: it could
// point a publish at the public registry or authenticate one. Proxy and CA settings stay.
const unsafeEnv = (key) =>
  /^(NPM_TOKEN|NODE_AUTH_TOKEN|NPM_CONFIG_PROVENANCE)$/i.test(key) ||
  /^npm_config_(.*registry.*|.*_auth.*|.*token.*|provenance|userconfig|local_prefix|prefix)$/i.test(
    key,
  )
const unset = Object.keys(process.env).filter(unsafeEnv)
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !unsafeEnv(k)))

/**
 * Runs a command to completion in its own process group (so a timeout can stop npm, pnpm and
 * everything they spawned), bounded by the overall deadline. Resolves with stdout; rejects with
 * the command, exit status and output.
 */
function run(cmd, args, { cwd, env = baseEnv } = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    children.add(child)
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => {
      stdout += d
    })
    child.stderr.on('data', (d) => {
      stderr += d
    })
    child.on('error', reject)
    child.on('close', (code, signal) => {
      children.delete(child)
      if (code === 0) resolvePromise(stdout)
      else {
        const error = new Error(
          `\`${cmd} ${args.join(' ')}\` in ${cwd} exited with ${code ?? signal}\n${stdout}${stderr}`,
        )
        error.stdout = stdout
        reject(error)
      }
    })
  })
}

function killGroup(child) {
  try {
    process.kill(-child.pid, 'SIGKILL')
  } catch {
    // Already gone.
  }
}

function cleanup() {
  if (finished) return
  finished = true
  for (const child of children) killGroup(child)
  if (registry) killGroup(registry)
  if (process.env.CHECK_PUBLISH_KEEP === '1') log(`kept ${work}`)
  else rmSync(work, { recursive: true, force: true })
}

const timer = setTimeout(() => {
  console.error(`FAIL check:publish: timed out after ${BUDGET_MS} ms during: ${step}`)
  cleanup()
  process.exit(1)
}, BUDGET_MS)
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    console.error(`check:publish: ${signal} during: ${step}; stopping the registry`)
    cleanup()
    process.exit(1)
  })
}
process.on('exit', cleanup)

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'))
const writeJson = (file, value) => writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`)
const remaining = () => Math.max(0, deadline - Date.now())

/** The public packages of the copy: every non-private package.json under packages/. */
function publicPackages() {
  return readdirSync(join(copy, 'packages'))
    .map((dir) => join(copy, 'packages', dir))
    .filter((dir) => existsSync(join(dir, 'package.json')))
    .map((dir) => ({ dir, manifest: readJson(join(dir, 'package.json')) }))
    .filter(({ manifest }) => !manifest.private)
}

async function main() {
  if (!KNOWN_INJECTIONS.includes(INJECT)) {
    throw new CheckFailure(
      `CHECK_PUBLISH_INJECT must be one of ${KNOWN_INJECTIONS.filter(Boolean).join(', ')}, got ${JSON.stringify(INJECT)}`,
    )
  }
  if (unset.length > 0) log(`unset for the rehearsal: ${unset.join(', ')}`)
  // changesets spawns `pnpm publish` by name, so pnpm must be on PATH (`npx -y pnpm@10 …` and
  // pnpm/action-setup put it there).
  await run('pnpm', ['--version']).catch(() => {
    throw new CheckFailure('pnpm is not on PATH: run this as `npx -y pnpm@10 check:publish`')
  })

  enter('install the registry tool')
  if (!existsSync(join(registryTool, 'node_modules', 'verdaccio'))) {
    // npm, not pnpm: the tool's lockfile carries an `overrides` pin only npm honours.
    await run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: registryTool })
  }

  enter('copy the repository')
  // Tracked and untracked-but-not-ignored files: the working tree a fresh clone would have, plus
  // the change under test. node_modules, dist and other ignored output stay behind.
  const files = (
    await run('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
      cwd: root,
    })
  )
    .split('\0')
    .filter((file) => file && existsSync(join(root, file)))
  for (const file of files) cpSync(join(root, file), join(copy, file), { recursive: true })
  const stripped = []
  for (const { dir, manifest } of publicPackages()) {
    if (manifest.publishConfig && 'provenance' in manifest.publishConfig) {
      delete manifest.publishConfig.provenance
      writeJson(join(dir, 'package.json'), manifest)
      stripped.push(manifest.name)
    }
  }
  log(
    `copy: ${files.length} files in ${copy}; publishConfig.provenance stripped from ${stripped.join(', ') || 'nothing'}`,
  )
  // `changeset publish` tags what it published, so the copy is a repository of its own.
  const git = (...args) =>
    run('git', ['-c', 'user.name=rehearsal', '-c', 'user.email=rehearsal@127.0.0.1', ...args], {
      cwd: copy,
    })
  await git('init', '--quiet', '--initial-branch=main')
  await git('add', '--all')
  await git('commit', '--quiet', '--no-verify', '-m', 'rehearsal copy')

  enter('start the registry')
  const registryDir = join(work, 'registry')
  mkdirSync(registryDir)
  cpSync(join(registryTool, 'config.yaml'), join(registryDir, 'config.yaml'))
  const url = await startRegistry(join(registryDir, 'config.yaml'))
  const { hostname, host } = new URL(url)
  if (hostname !== '127.0.0.1') throw new CheckFailure(`registry URL ${url} is not on 127.0.0.1`)
  const token = await addUser(url)
  const npmrc = join(work, 'npmrc')
  writeFileSync(npmrc, `registry=${url}\n//${host}/:_authToken=${token}\n`)
  // Every publish and every `npm info` changesets makes goes to the loopback registry: changesets
  // reads the registry from these variables (not from npmrc), pnpm and npm from either.
  const publishEnv = {
    ...baseEnv,
    npm_config_userconfig: npmrc,
    npm_config_registry: url,
    'npm_config_@userevents:registry': url,
  }
  for (const [key, value] of Object.entries(publishEnv)) {
    if (/registry/i.test(key) && new URL(value).hostname !== '127.0.0.1') {
      throw new CheckFailure(`${key}=${value} is not on 127.0.0.1`)
    }
  }
  log(`registry: Verdaccio (pid ${registry.pid}) at ${url} (${elapsed()})`)

  enter('pnpm install --offline --frozen-lockfile')
  await run('pnpm', ['install', '--offline', '--frozen-lockfile', '--reporter=silent'], {
    cwd: copy,
  })

  // The release workflow publishes only what a merged "version packages" pull request versioned,
  // so changesets still pending on this branch are versioned first, as that pull request would.
  // Publishing the unversioned manifests instead would release a new package as 0.0.0.
  const pending = readdirSync(join(copy, '.changeset')).filter(
    (file) => file.endsWith('.md') && file !== 'README.md',
  )
  if (pending.length > 0) {
    enter('version the pending changesets')
    await run('pnpm', ['version-packages'], { cwd: copy, env: baseEnv })
    await run('pnpm', ['install', '--offline', '--frozen-lockfile', '--reporter=silent'], {
      cwd: copy,
    })
    await git('add', '--all')
    await git('commit', '--quiet', '--no-verify', '-m', 'version pending changesets')
    log(`versioned ${pending.length} pending changesets (${elapsed()})`)
  }

  enter('first pnpm release')
  const firstManifests = publicPackages().map(({ manifest }) => manifest)
  await run('pnpm', ['release'], { cwd: copy, env: publishEnv })
  const problems = []
  const first = await checkRegistry(url, firstManifests, problems)
  log(`published (${elapsed()}):`)
  for (const [name, info] of Object.entries(first)) log(`  ${name}@${info.version}${info.deps}`)
  if (problems.length > 0) throw new CheckFailure(problems.join('\n'))

  enter('consumer install')
  mkdirSync(consumer)
  const published = Object.keys(first)
  const missing = CONSUMER_DEPS.filter((name) => !published.includes(name))
  if (missing.length > 0) throw new CheckFailure(`the consumer needs unpublished ${missing}`)
  writeJson(join(consumer, 'package.json'), {
    name: 'userevents-release-rehearsal-consumer',
    version: '0.0.0',
    private: true,
    type: 'module',
    dependencies: Object.fromEntries(CONSUMER_DEPS.map((n) => [n, `^${first[n].version}`])),
  })
  // Only the @userevents scope comes from the loopback registry; everything else from npm, as for
  // a real user. An empty userconfig keeps a developer's own npmrc (and its tokens) out.
  writeFileSync(join(consumer, '.npmrc'), `@userevents:registry=${url}\n`)
  const consumerRc = join(work, 'consumer-userconfig')
  writeFileSync(consumerRc, '')
  const consumerEnv = { ...baseEnv, npm_config_userconfig: consumerRc }
  const npm = (...args) =>
    run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: consumer,
      env: consumerEnv,
    })
  await npm('install')
  // A published package nothing in the consumer's tree pulls in (say, a Redis adapter) is still
  // installed and exercised, but reported, so CONSUMER_DEPS can be reviewed.
  const notInTree = published.filter((name) => !existsSync(join(consumer, 'node_modules', name)))
  if (notInTree.length > 0) {
    log(`not reached from ${CONSUMER_DEPS.join(' + ')}, installed on their own: ${notInTree}`)
    await npm('install', '--prefer-online', ...notInTree.map((n) => `${n}@^${first[n].version}`))
  }
  await smoke(consumer, published, consumerEnv)
  log(
    `consumer (${elapsed()}): ${CONSUMER_DEPS.map((n) => `${n}@^${first[n].version}`).join(', ')}`,
  )
  log(indent(await runLs('npm', ['ls', ...published, '--all'], consumer, consumerEnv)))
  await checkTree(consumer, consumerEnv, first, problems)
  if (problems.length > 0) throw new CheckFailure(problems.join('\n'))

  enter('version a minor of the client and publish again')
  writeFileSync(
    join(copy, '.changeset', 'rehearsal-client-minor.md'),
    `---\n'${CLIENT}': minor\n---\n\nRelease rehearsal: a minor of the client.\n`,
  )
  await run('pnpm', ['version-packages'], { cwd: copy, env: baseEnv })
  // The merged "version packages" pull request is installed from the lockfile by the workflow:
  // versions moved, ranges stayed `workspace:`, so the lockfile must still be frozen-valid.
  await run('pnpm', ['install', '--offline', '--frozen-lockfile', '--reporter=silent'], {
    cwd: copy,
  })
  if (INJECT === 'stale-client-range') injectStaleClientRange(first[CLIENT].version)
  await git('add', '--all')
  await git('commit', '--quiet', '--no-verify', '-m', 'version packages')
  const secondManifests = publicPackages().map(({ manifest }) => manifest)
  await run('pnpm', ['release'], { cwd: copy, env: publishEnv })
  const second = await checkRegistry(url, secondManifests, problems)
  const moved = Object.keys(second).filter((n) => second[n].version !== first[n]?.version)
  log(`upgrade published (${elapsed()}):`)
  for (const name of Object.keys(second)) {
    const was = first[name]?.version ?? '(new)'
    const now = second[name].version
    log(`  ${name} ${was === now ? `${now} (unchanged)` : `${was} -> ${now}${second[name].deps}`}`)
  }
  if (!moved.includes(CLIENT)) problems.push(`${CLIENT} was not republished by the upgrade`)

  enter('consumer npm update')
  // --prefer-online: the first install cached the packuments from before the upgrade.
  await npm('update', '--prefer-online')
  log(`consumer after npm update (${elapsed()}):`)
  log(indent(await runLs('npm', ['ls', ...published, '--all'], consumer, consumerEnv)))
  await checkTree(consumer, consumerEnv, second, problems)
  if (problems.length === 0) await smoke(consumer, published, consumerEnv)
  if (problems.length > 0) throw new CheckFailure(problems.join('\n'))
  log(
    `ok   check:publish: ${published.length} packages published, installed by range, upgraded ` +
      `(${moved.map((n) => `${n} ${first[n].version} -> ${second[n].version}`).join(', ')}) ` +
      `in ${elapsed()}`,
  )
}

/** Starts tools/registry/start.mjs and resolves with the URL it prints once listening. */
function startRegistry(configPath) {
  return new Promise((resolvePromise, reject) => {
    registry = spawn(process.execPath, [join(registryTool, 'start.mjs'), configPath], {
      cwd: registryTool,
      env: baseEnv,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    const fail = (why) => reject(new Error(`Verdaccio did not start: ${why}\n${out}`))
    const giveUp = setTimeout(() => fail('no URL within 30 s'), Math.min(30_000, remaining()))
    registry.stderr.on('data', (d) => {
      out += d
    })
    registry.stdout.on('data', (d) => {
      out += d
      const line = out.split('\n').find((l) => l.startsWith('{"url"'))
      if (line) {
        clearTimeout(giveUp)
        resolvePromise(JSON.parse(line).url)
      }
    })
    registry.on('exit', (code) => {
      clearTimeout(giveUp)
      if (!finished) fail(`exited with ${code}`)
    })
  })
}

/** Registers a throw-away user the way `npm adduser` does and returns its token. */
async function addUser(url) {
  const name = `rehearsal-${process.pid}`
  const res = await fetch(new URL(`-/user/org.couchdb.user:${name}`, url), {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, password: `pw-${Math.random().toString(36).slice(2)}` }),
    signal: AbortSignal.timeout(10_000),
  })
  const body = await res.json()
  if (!res.ok || typeof body.token !== 'string') {
    throw new Error(`PUT /-/user/org.couchdb.user:${name}: ${res.status} ${JSON.stringify(body)}`)
  }
  return body.token
}

/**
 * Reads every package's packument from the registry and checks what `changeset publish` left
 * there: the version is published and tagged `latest`, no `workspace:` range survived, and every
 * range on another @userevents package admits that package's latest published version (a range
 * that does not is what leaves a consumer with two copies of the client).
 */
async function checkRegistry(url, manifests, problems) {
  const packuments = {}
  for (const { name } of manifests) {
    const res = await fetch(new URL(name.replace('/', '%2f'), url), {
      signal: AbortSignal.timeout(10_000),
    })
    packuments[name] = res.ok ? await res.json() : undefined
  }
  const result = {}
  for (const { name, version } of manifests) {
    const doc = packuments[name]
    const published = doc?.versions?.[version]
    if (!published) {
      problems.push(`${name}@${version} is not on the registry after \`pnpm release\``)
      continue
    }
    if (doc['dist-tags']?.latest !== version) {
      problems.push(`${name}: dist-tag latest is ${doc['dist-tags']?.latest}, expected ${version}`)
    }
    const ranges = []
    for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
      for (const [dep, range] of Object.entries(published[field] ?? {})) {
        if (range.startsWith('workspace:')) {
          problems.push(`${name}@${version} was published with ${field} ${dep}: ${range}`)
        }
        if (!dep.startsWith('@userevents/')) continue
        ranges.push(
          `${field === 'dependencies' ? '' : `${field.replace('Dependencies', '')} `}${dep}@${range}`,
        )
        const latest = packuments[dep]?.['dist-tags']?.latest
        if (latest && !semver.satisfies(latest, range)) {
          problems.push(
            `${name}@${version} requires ${dep}@${range} (${field}), which excludes the latest ` +
              `published ${dep}@${latest}: a consumer gets two copies of ${dep} or a stale one`,
          )
        }
      }
    }
    result[name] = { version, deps: ranges.length > 0 ? `  -> ${ranges.join(', ')}` : '' }
  }
  return result
}

/**
 * Checks the consumer's installed tree with `npm ls --all --json`: npm reports no problem (missing
 * or invalid peers), and each published package is installed exactly once, at its latest version.
 */
async function checkTree(dir, env, expected, problems) {
  let tree
  try {
    tree = JSON.parse(await runLs('npm', ['ls', '--all', '--json', '--long'], dir, env))
  } catch (error) {
    problems.push(`npm ls failed in the consumer: ${error.message}`)
    return
  }
  for (const problem of tree.problems ?? []) problems.push(`npm ls: ${problem}`)
  // Physical copies: `--long` gives every node its install path; a deduped package is listed
  // under each dependent with the same path, a second copy has a path of its own.
  const copies = new Map()
  const walk = (node, trail) => {
    for (const [name, child] of Object.entries(node.dependencies ?? {})) {
      if (name in expected && child.path) {
        const seen = copies.get(name) ?? new Map()
        if (!seen.has(child.path)) seen.set(child.path, { version: child.version, via: trail })
        copies.set(name, seen)
      }
      walk(child, `${trail} > ${name}@${child.version}`)
    }
  }
  walk(tree, 'consumer')
  for (const [name, { version }] of Object.entries(expected)) {
    const found = [...(copies.get(name)?.values() ?? [])]
    if (found.length === 0) {
      problems.push(`consumer has no copy of ${name}`)
      continue
    }
    const where = found.map((c) => `${c.version} (reached as ${c.via} > ${name})`).join(', ')
    if (found.length > 1) problems.push(`consumer has ${found.length} copies of ${name}: ${where}`)
    else if (found[0].version !== version) {
      problems.push(
        `consumer has ${name}@${found[0].version}, not the published ${version}: ${where}`,
      )
    } else log(`ok   consumer tree: one copy of ${name}@${version}`)
  }
}

/** `npm ls` exits 1 when it finds problems but still prints its report, which is what we want. */
function runLs(cmd, args, cwd, env) {
  return run(cmd, args, { cwd, env }).catch((error) => {
    if (error.stdout?.trim()) return error.stdout
    throw error
  })
}

/**
 * In the consumer: imports and require()s every published package (one module instance for
 * both), makes one real call with the installed client against the installed mock's loopback
 * server, and runs every published bin with --help from node_modules/.bin.
 */
async function smoke(dir, names, env) {
  writeFileSync(
    join(dir, 'smoke.mjs'),
    `import { createRequire } from 'node:module'
const require = createRequire(import.meta.url)
const names = ${JSON.stringify(names)}
for (const name of names) {
  const imported = await import(name)
  const required = require(name)
  if (Object.keys(imported).length === 0) throw new Error(name + ' exports nothing')
  if (imported !== required) throw new Error(name + ': import() and require() gave two module instances')
}
const { createMockUpstream } = await import('@userevents/mock-server')
const { createUpstreamClient } = await import('${CLIENT}')
const mock = createMockUpstream({ delays: { getUserById: 0 } })
const server = await mock.listen()
const client = createUpstreamClient({ baseUrl: server.url, retry: { retries: 0 } })
try {
  const user = await client.get('/getUserById/1')
  if (user.id !== '1') throw new Error('unexpected user ' + JSON.stringify(user))
  if (mock.calls('getUserById') !== 1) throw new Error('the mock saw ' + mock.calls('getUserById') + ' calls')
} finally {
  await client.close()
  await server.close()
}
const version = require('${CLIENT}/package.json').version
console.log('import + require of ' + names.length + ' packages; client ' + version + ' GET /getUserById/1 against the mock: ok')
`,
  )
  log(`ok   ${(await run(process.execPath, ['smoke.mjs'], { cwd: dir, env })).trim()}`)
  for (const name of names) {
    const bins = readJson(join(dir, 'node_modules', name, 'package.json')).bin ?? {}
    for (const command of Object.keys(typeof bins === 'string' ? { [name]: bins } : bins)) {
      const out = await run(join(dir, 'node_modules', '.bin', command), ['--help'], {
        cwd: dir,
        env,
      })
      if (!out.includes(command))
        throw new CheckFailure(`${name}: ${command} --help does not name itself: ${out}`)
      log(`ok   ${name}: node_modules/.bin/${command} --help`)
    }
  }
}

/**
 * The injected defect: the first package that depends on the client gets the old client's range
 * written out instead of `workspace:^`, so it is republished against a client it excludes.
 */
function injectStaleClientRange(oldVersion) {
  for (const { dir, manifest } of publicPackages()) {
    for (const field of ['dependencies', 'peerDependencies']) {
      if (manifest[field]?.[CLIENT]?.startsWith('workspace:')) {
        manifest[field][CLIENT] = `^${oldVersion}`
        writeJson(join(dir, 'package.json'), manifest)
        log(`INJECTED: ${manifest.name} ${field} ${CLIENT}@^${oldVersion} (was workspace:^)`)
        return
      }
    }
  }
  throw new Error('no package depends on the client through a workspace: range')
}

const indent = (text) =>
  text
    .trimEnd()
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n')

try {
  await main()
} catch (error) {
  const reason = error instanceof CheckFailure ? error.message : (error.stack ?? String(error))
  console.error(`FAIL check:publish during: ${step}\n${reason}`)
  process.exitCode = 1
} finally {
  clearTimeout(timer)
  cleanup()
}
