// Shared by check-readmes.mjs and check-newcomer.mjs: what a new user has, rebuilt from nothing.
// The publishable packages packed the way they are published (`pnpm pack`, which rewrites the
// `workspace:^` ranges), and consumer folders outside the workspace that hold only those tarballs
// and the packages a README's install lines name, installed with plain npm from the registry.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

export const root = resolve(import.meta.dirname, '..', '..')
export const packagesDir = join(root, 'packages')

/** Runs a command synchronously, returning its stdout; throws with stdout/stderr on failure. */
export const run = (cmd, args, cwd = root, env = process.env) =>
  execFileSync(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' })

/** The workspace's own copy of a tool (tsc), which a consumer brings itself. */
export const bin = (name) => join(root, 'node_modules', '.bin', name)

/** Package folders that are published (private ones, the check kit, are bundled, not installed). */
export function publishableDirs() {
  return readdirSync(packagesDir)
    .map((d) => join(packagesDir, d))
    .filter((dir) => !JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).private)
}

/**
 * Packs every publishable package into `dest` with one `pnpm -r pack` (run after `pnpm build`;
 * pnpm rewrites `workspace:^` to the real version, `npm pack` would not); returns
 * `{ name: tarballPath }`. The private check kit is packed too by pnpm, and left out here.
 */
export function packAll(dest) {
  run('npx', [
    '-y',
    'pnpm@10',
    '-r',
    '--filter',
    './packages/*',
    'pack',
    '--pack-destination',
    dest,
  ])
  const tarballs = {}
  for (const dir of publishableDirs()) {
    const { name, version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
    const file = join(dest, `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`)
    if (!existsSync(file)) throw new Error(`pnpm -r pack did not write ${file}`)
    tarballs[name] = file
  }
  return tarballs
}

/** The ```ts blocks of a Markdown file, each with the README line of its first code line. */
export function extractBlocks(markdown, fence = /^```(ts|typescript)\s*$/) {
  const blocks = []
  const lines = markdown.split('\n')
  for (let i = 0; i < lines.length; i++) {
    if (!fence.test(lines[i])) continue
    const start = i + 1
    let end = start
    while (end < lines.length && !/^```\s*$/.test(lines[end])) end++
    blocks.push({ firstLine: start + 1, code: lines.slice(start, end).join('\n') })
    i = end
  }
  return blocks
}

/**
 * The packages a README tells its reader to install: every `npm install` / `npm i` line of its
 * ```sh blocks, flags and trailing comments dropped. Specs keep their version (`pkg@^1`).
 */
export function installLines(markdown) {
  const specs = []
  for (const block of extractBlocks(markdown, /^```(sh|bash|shell|console)\s*$/)) {
    for (const raw of block.code.split('\n')) {
      const line = raw
        .replace(/#.*$/, '')
        .trim()
        .replace(/^\$\s*/, '')
      const m = /^npm\s+(?:install|i|add)\s+(.*)$/.exec(line)
      if (!m) continue
      for (const word of m[1].split(/\s+/)) if (word && !word.startsWith('-')) specs.push(word)
    }
  }
  return specs
}

/** `@scope/name@^1` → `@scope/name`; `name@1` → `name`. */
export const nameOf = (spec) => spec.replace(/^(@?[^@]+)@.*$/, '$1')

/**
 * The packages a module imports (bare specifiers only: `node:` built-ins and relative paths
 * excluded), reduced to their package name (`msw/node` → `msw`).
 */
export function importedPackages(code) {
  const found = new Set()
  const re = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g
  for (const m of code.matchAll(re)) {
    const spec = m[1]
    if (spec.startsWith('.') || spec.startsWith('node:') || spec.startsWith('/')) continue
    const parts = spec.split('/')
    found.add(spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0])
  }
  return found
}

/**
 * Creates a consumer folder (ESM, like the READMEs' top-level `await`) and installs into it, with
 * npm, every packed tarball (the toolkit's packages depend on one another by version, which only
 * the tarballs can satisfy before a release) and the registry packages in `specs`.
 */
export function installConsumer(dir, tarballs, specs) {
  mkdirSync(dir, { recursive: true })
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, version: '0.0.0', type: 'module' }),
  )
  const fromRegistry = specs.filter((s) => !(nameOf(s) in tarballs))
  run(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      ...Object.values(tarballs),
      ...fromRegistry,
    ],
    dir,
  )
}

/**
 * Compiler options of a consumer: strict `nodenext`, the installed packages' types, Node's own
 * types from the workspace (an environment, not something a README asks to install).
 */
export function consumerTsconfig(include, extra = {}) {
  return {
    compilerOptions: {
      strict: true,
      module: 'nodenext',
      moduleResolution: 'nodenext',
      target: 'es2022',
      lib: ['es2023'],
      types: ['node'],
      typeRoots: [join(root, 'node_modules', '@types')],
      // Our dist types are what is checked; third-party declaration files are theirs.
      skipLibCheck: true,
      ...extra,
    },
    include,
  }
}
