#!/usr/bin/env node
// Typechecks every ```ts block of every package README, as a consumer would write it: each block
// is its own module (it must bring its own imports and `declare const` its placeholders), compiled
// under strict `nodenext` against the BUILT types (dist) of the workspace packages, never their
// sources. Run after `pnpm build`. Failures name the README and its line.
//
// The blocks are written to `packages/<pkg>/.readme-check/` (git-ignored, removed afterwards):
// inside the package, its own name resolves through its package.json `exports` (self-reference)
// and the other packages and libraries resolve through its node_modules, as in an install.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '..')
const tsc = join(root, 'node_modules', '.bin', 'tsc')
const FENCE_OPEN = /^```(ts|typescript)\s*$/
const FENCE_CLOSE = /^```\s*$/

/** The ```ts blocks of a Markdown file, each with the README line of its first code line. */
function extractBlocks(markdown) {
  const blocks = []
  const lines = markdown.split('\n')
  for (let i = 0; i < lines.length; i++) {
    if (!FENCE_OPEN.test(lines[i])) continue
    const start = i + 1
    let end = start
    while (end < lines.length && !FENCE_CLOSE.test(lines[end])) end++
    blocks.push({ firstLine: start + 1, code: lines.slice(start, end).join('\n') })
    i = end
  }
  return blocks
}

const tsconfig = {
  compilerOptions: {
    strict: true,
    module: 'nodenext',
    moduleResolution: 'nodenext',
    target: 'es2022',
    lib: ['es2023'],
    types: ['node'],
    noEmit: true,
    // Our dist types are what is checked; third-party declaration files are theirs.
    skipLibCheck: true,
  },
  include: ['*.ts'],
}

let failed = false
let checked = 0
const packagesDir = join(root, 'packages')
for (const dir of readdirSync(packagesDir).map((d) => join(packagesDir, d))) {
  const readme = join(dir, 'README.md')
  if (!existsSync(readme)) continue
  // A private package (the check kit) is read by contributors, not consumers: nothing to install.
  if (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).private) continue
  const readmeName = relative(root, readme)
  const blocks = extractBlocks(readFileSync(readme, 'utf8'))
  if (blocks.length === 0) continue
  const work = join(dir, '.readme-check')
  rmSync(work, { recursive: true, force: true })
  mkdirSync(work)
  const byFile = new Map()
  for (const block of blocks) {
    const file = `line-${block.firstLine}.ts`
    byFile.set(file, block)
    // `export {}` keeps a block without imports a module, so blocks never share globals.
    writeFileSync(join(work, file), `${block.code}\nexport {}\n`)
  }
  writeFileSync(join(work, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2))
  try {
    execFileSync(tsc, ['-p', work, '--pretty', 'false'], {
      cwd: work,
      encoding: 'utf8',
      stdio: 'pipe',
    })
    console.log(
      `ok   ${readmeName}: ${blocks.length} ts blocks typecheck (strict, nodenext, dist types)`,
    )
  } catch (error) {
    failed = true
    const out = `${error.stdout ?? ''}${error.stderr ?? ''}`
    for (const line of out.split('\n').filter(Boolean)) {
      const m = /^(line-\d+\.ts)\((\d+),(\d+)\): (.*)$/.exec(line)
      const block = m && byFile.get(m[1])
      if (block) {
        console.error(`FAIL ${readmeName}:${block.firstLine + Number(m[2]) - 1}:${m[3]} ${m[4]}`)
      } else {
        console.error(`FAIL ${readmeName}: ${line}`)
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
  checked += blocks.length
}
console.log(`${failed ? 'FAIL' : 'ok  '} ${checked} README code blocks checked`)
process.exit(failed ? 1 : 0)
