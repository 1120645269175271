// The README check shared by check-readmes.mjs and check-newcomer.mjs; see check-readmes.mjs.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import {
  bin,
  consumerTsconfig,
  extractBlocks,
  importedPackages,
  installConsumer,
  installLines,
  nameOf,
  publishableDirs,
  root,
  run,
} from './consumer.mjs'

/**
 * Checks every published package's README in consumer folders under `work` (one per distinct
 * install set), with the packed `tarballs`. Logs `ok` / `FAIL` lines; returns
 * `{ failed, checked }`.
 */
export function checkReadmes(work, tarballs) {
  let failed = false
  let checked = 0
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
    if (checkBlocks(consumer, readmeName, blocks)) {
      console.log(
        `ok   ${readmeName}: ${blocks.length} ts blocks typecheck (strict, nodenext, installed from tarballs + its install lines)`,
      )
    } else {
      failed = true
    }
    checked += blocks.length
  }
  return { failed, checked }
}

/** Private: compiles a README's blocks in a folder of `consumer`; reports failures by line. */
function checkBlocks(consumer, readmeName, blocks) {
  const dir = join(consumer, `readme-${readmeName.replace(/[^a-z0-9]+/gi, '-')}`)
  mkdirSync(dir, { recursive: true })
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
