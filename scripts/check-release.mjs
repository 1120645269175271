#!/usr/bin/env node
// A dry run of the release flow, offline, in a throw-away copy of the repository: it adds a minor
// changeset for the client, runs `changeset version`, and checks what a release would publish:
//   - the client gets a minor bump and a CHANGELOG entry with the changeset's text;
//   - the aggregator, whose `^0.x` range on the client no longer covers the new minor, gets a
//     patch bump and an "Updated dependencies" entry, so it is republished against the new client;
//   - the mock server is untouched, and the private example service is ignored;
//   - the Fastify plugin, which has the client as a peer dependency, is not bumped to 1.0.0
//     (changesets would do that to a peer dependent without `onlyUpdatePeerDependentsWhenOutOfRange`);
// Pending changesets of the repository are removed in the copy first: the flow is what is checked.
//   - internal `workspace:` ranges survive, so `pnpm publish` turns them into real ranges.
// The working tree is never touched. Exits non-zero with the reason on the first mismatch.
import { execFileSync } from 'node:child_process'
import {
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '..')
const copy = mkdtempSync(join(tmpdir(), 'userevents-release-'))
const run = (cmd, args) =>
  execFileSync(cmd, args, { cwd: copy, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' })
const manifest = (dir) => JSON.parse(readFileSync(join(copy, dir, 'package.json'), 'utf8'))
const bump = (version, part) => {
  const [major, minor, patch] = version.split('.').map(Number)
  return part === 'minor' ? `${major}.${minor + 1}.0` : `${major}.${minor}.${patch + 1}`
}

try {
  const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' })
    .split('\0')
    .filter(Boolean)
  for (const file of tracked) cpSync(join(root, file), join(copy, file), { recursive: true })
  symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'), 'dir')
  // The dry run checks the flow with one known changeset; pending ones would blur the
  // expectations, so they are removed from the copy, after a check that each has a well-formed
  // header naming a package of this repository (a formatter once turned one into headings).
  const packages = new Set(
    [
      'packages/upstream-client',
      'packages/event-aggregator',
      'packages/mock-server',
      'packages/fastify',
      'packages/redis',
    ].map((dir) => manifest(dir).name),
  )
  for (const file of readdirSync(join(copy, '.changeset'))) {
    if (!file.endsWith('.md') || file === 'README.md') continue
    const text = readFileSync(join(copy, '.changeset', file), 'utf8')
    const header = /^---\n((?:["']?@[^\n]+\n)+)---\n\n\S/.exec(text)
    if (header === null) throw new Error(`.changeset/${file}: no changeset header`)
    for (const line of (header[1] ?? '').trim().split('\n')) {
      const m = /^["']?(@[^"':]+)["']?:\s*(major|minor|patch)$/.exec(line)
      if (m === null || !packages.has(m[1])) {
        throw new Error(`.changeset/${file}: bad release line ${JSON.stringify(line)}`)
      }
    }
    rmSync(join(copy, '.changeset', file))
  }

  const before = {
    client: manifest('packages/upstream-client').version,
    aggregator: manifest('packages/event-aggregator').version,
    mock: manifest('packages/mock-server').version,
    fastify: manifest('packages/fastify').version,
    example: manifest('examples/event-service').version,
  }
  writeFileSync(
    join(copy, '.changeset', 'dry-run-check.md'),
    "---\n'@userevents/upstream-client': minor\n---\n\nDry-run check: a feature of the client.\n",
  )
  run(join(copy, 'node_modules', '.bin', 'changeset'), ['version'])

  const after = {
    client: manifest('packages/upstream-client'),
    aggregator: manifest('packages/event-aggregator'),
    mock: manifest('packages/mock-server'),
    fastify: manifest('packages/fastify'),
    example: manifest('examples/event-service'),
  }
  const problems = []
  const expect = (what, actual, wanted) => {
    if (actual !== wanted) problems.push(`${what}: expected ${wanted}, got ${actual}`)
  }
  expect('client version', after.client.version, bump(before.client, 'minor'))
  expect('aggregator version', after.aggregator.version, bump(before.aggregator, 'patch'))
  expect('mock-server version', after.mock.version, before.mock)
  // Its peer range (>=0.1.0 <1.0.0) still covers the new client, and with
  // `onlyUpdatePeerDependentsWhenOutOfRange` changesets does not force a major (1.0.0) on it.
  expect(
    'fastify plugin version (peer range still satisfied)',
    after.fastify.version,
    before.fastify,
  )
  expect('example version (ignored)', after.example.version, before.example)
  expect(
    'aggregator range on the client',
    after.aggregator.dependencies['@userevents/upstream-client'],
    'workspace:^',
  )
  const changelog = readFileSync(join(copy, 'packages/upstream-client/CHANGELOG.md'), 'utf8')
  if (!changelog.includes(`## ${bump(before.client, 'minor')}`)) {
    problems.push('client CHANGELOG has no section for the new version')
  }
  if (!changelog.includes('Dry-run check: a feature of the client.')) {
    problems.push("client CHANGELOG does not carry the changeset's text")
  }
  const aggregatorLog = readFileSync(join(copy, 'packages/event-aggregator/CHANGELOG.md'), 'utf8')
  if (!aggregatorLog.includes(`@userevents/upstream-client@${after.client.version}`)) {
    problems.push('aggregator CHANGELOG does not name the updated client')
  }
  if (problems.length > 0) throw new Error(problems.join('\n'))
  console.log(
    `ok   changeset version (dry run): client ${before.client} -> ${after.client.version}, ` +
      `aggregator ${before.aggregator} -> ${after.aggregator.version}, ` +
      `mock-server ${after.mock.version} (unchanged), fastify ${after.fastify.version} (unchanged), ` +
      'example ignored',
  )
} catch (error) {
  console.error(`FAIL release dry run: ${error.message}\n${error.stderr ?? ''}`)
  process.exitCode = 1
} finally {
  rmSync(copy, { recursive: true, force: true })
}
