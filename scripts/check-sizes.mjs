#!/usr/bin/env node
// Fails `pnpm test` when a source file of a published package grows past 450 lines or one of its
// functions past 150 (issue 20: functions that fit on a screen; a composition that grows gets
// steps extracted, not flags). Counts with TypeScript's own parser, so a function is what the
// language says it is (declarations, methods, arrow functions, accessors), nested ones apart.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import ts from 'typescript'

const MAX_FILE_LINES = 450
const MAX_FUNCTION_LINES = 150
const root = resolve(import.meta.dirname, '..')

const problems = []
for (const pkg of readdirSync(join(root, 'packages'))) {
  const src = join(root, 'packages', pkg, 'src')
  if (!statSync(src, { throwIfNoEntry: false })?.isDirectory()) continue
  for (const file of sourceFiles(src)) check(file)
}
if (problems.length > 0) {
  for (const p of problems) console.error(`too long: ${p}`)
  process.exit(1)
}
console.log(
  `ok   no source file over ${MAX_FILE_LINES} lines, no function over ${MAX_FUNCTION_LINES} (packages/*/src)`,
)

function check(file) {
  const text = readFileSync(file, 'utf8')
  const name = relative(root, file)
  const lines = text.split('\n').length
  if (lines > MAX_FILE_LINES) problems.push(`${name}: ${lines} lines`)
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)
  const visit = (node) => {
    if (ts.isFunctionLike(node) && node.body !== undefined) {
      const first = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line
      const last = sf.getLineAndCharacterOfPosition(node.end).line
      if (last - first + 1 > MAX_FUNCTION_LINES) {
        const label = node.name?.getText(sf) ?? '(anonymous)'
        problems.push(`${name}:${first + 1} ${label}: ${last - first + 1} lines`)
      }
    }
    ts.forEachChild(node, visit)
  }
  visit(sf)
}

function* sourceFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) yield* sourceFiles(path)
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) yield path
  }
}
