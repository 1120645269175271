#!/usr/bin/env node
// Typechecks every ```ts block of every published package's README as a new user would meet it:
// in a consumer folder OUTSIDE the workspace that holds only the packed tarballs and the packages
// that README's `npm install` lines name, installed with plain npm (the registry for everything
// but our tarballs). Each block is its own module (it must bring its own imports and `declare
// const` its placeholders), compiled under strict `nodenext` against the installed types.
// Besides, every package a block imports must be named by an install line of the same README:
// a package that only happens to be there (a dependency of another, hoisted by npm) fails too.
// So a missing install line fails the check. Run after `pnpm build`. Failures name the README
// and its line. Folders are shared between READMEs with the same install set.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import {
  bin,
  consumerTsconfig,
  extractBlocks,
  importedPackages,
  installConsumer,
  installLines,
  nameOf,
  packAll,
  publishableDirs,
  root,
  run,
} from './lib/consumer.mjs'

const work = mkdtempSync(join(tmpdir(), 'userevents-readmes-'))
let failed = false
let checked = 0
try {
  const tarballs = packAll(work)
  /** One consumer folder per distinct install set. */
  const folders = new Map()
  for (const dir of publishableDirs()) {
    const readme = join(dir, 'README.md')
    const readmeName = relative(root, readme)
    const markdown = readFileSync(readme, 'utf8')
    const blocks = extractBlocks(markdown)
    if (blocks.length === 0) continue
    const specs = installLines(markdown)
    const named = new Set(specs.map(nameOf))
    for (const block of blocks) {
      for (const pkg of importedPackages(block.code)) {
        if (named.has(pkg)) continue
        failed = true
        console.error(
          `FAIL ${readmeName}:${block.firstLine} imports ${pkg}, which no install line of this README names (npm install ${pkg})`,
        )
      }
    }
    const key = [...new Set(specs)].sort().join(' ')
    let consumer = folders.get(key)
    if (consumer === undefined) {
      consumer = join(work, `consumer-${folders.size}`)
      const started = performance.now()
      installConsumer(consumer, tarballs, specs)
      const seconds = ((performance.now() - started) / 1000).toFixed(0)
      console.log(`ok   npm install ${key || '(tarballs only)'} (${seconds} s)`)
      folders.set(key, consumer)
    }
    const files = checkBlocks(consumer, readmeName, blocks)
    if (files) {
      console.log(
        `ok   ${readmeName}: ${blocks.length} ts blocks typecheck (strict, nodenext, installed from tarballs + its install lines)`,
      )
    }
    checked += blocks.length
  }
} catch (error) {
  failed = true
  console.error(`FAIL ${error.message}\n${error.stdout ?? ''}${error.stderr ?? ''}`)
} finally {
  rmSync(work, { recursive: true, force: true })
}
console.log(`${failed ? 'FAIL' : 'ok  '} ${checked} README code blocks checked`)
process.exit(failed ? 1 : 0)

/** Compiles a README's blocks in `consumer`/readme-<n>; reports failures by README line. */
function checkBlocks(consumer, readmeName, blocks) {
  const dir = join(consumer, `readme-${readmeName.replace(/[^a-z0-9]+/gi, '-')}`)
  run('mkdir', ['-p', dir])
  const byFile = new Map()
  for (const block of blocks) {
    const file = `line-${block.firstLine}.ts`
    byFile.set(file, block)
    // `export {}` keeps a block without imports a module, so blocks never share globals.
    writeFileSync(join(dir, file), `${block.code}\nexport {}\n`)
  }
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify(consumerTsconfig(['*.ts'], { noEmit: true })),
  )
  try {
    run(bin('tsc'), ['-p', dir, '--pretty', 'false'], dir)
    return true
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
    return false
  }
}
