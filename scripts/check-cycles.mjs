#!/usr/bin/env node
// Fails on any import cycle between the source files of one package (`packages/*/src`) or example
// (`examples/*/src`), type-only ones included: `import type`, `export … from`, `import('./x.js')`
// in a type position, dynamic `import()`. Prints the number of cycles per package, then each
// cycle as its files in import order.
//
// Why a small script over TypeScript's own `ts.preProcessFile` rather than madge or dpdm: the
// cycles this repository had were all type-only, and madge drops `import type` unless its
// detective is configured for it (and still misses `import('./x.js')` type references); dpdm
// sees them but brings a dependency tree for what is a 100-line graph walk. `preProcessFile` is
// the TypeScript scanner's own import pass: every module specifier of a file, type positions
// included, from the `typescript` the workspace already has, without building a program.
//
// Only relative specifiers are followed (`./x.js` → `./x.ts`, `./x/index.ts`); imports of other
// packages go through their published entry points and are the workspace graph's business.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import ts from 'typescript'

const root = resolve(import.meta.dirname, '..')
const SOURCE = /\.(c|m)?tsx?$/

const packages = ['packages', 'examples'].flatMap((group) =>
  existsSync(join(root, group))
    ? readdirSync(join(root, group))
        .map((name) => join(root, group, name, 'src'))
        .filter((src) => existsSync(src))
    : [],
)

let total = 0
const report = []
for (const src of packages) {
  const cycles = findCycles(importGraph(src))
  total += cycles.length
  const name = relative(root, dirname(src))
  console.log(`${name.padEnd(32)} ${cycles.length} import cycle${cycles.length === 1 ? '' : 's'}`)
  for (const { path, size } of cycles) {
    const walk = [...path, path[0]].map((f) => relative(src, f)).join(' → ')
    // A tangle of several files is reported by one shortest cycle through it, with its size.
    const more = size > path.length ? ` (one of the cycles among ${size} files)` : ''
    report.push(`${name}: ${walk}${more}`)
  }
}
if (total > 0) {
  console.error(`\n${total} import cycle${total === 1 ? '' : 's'} (type-only imports included):`)
  for (const line of report) console.error(`  ${line}`)
  process.exit(1)
}

/** Every source file under `dir` mapped to the source files it imports relatively. */
function importGraph(dir) {
  const graph = new Map()
  for (const file of sourceFiles(dir)) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true)
    const targets = new Set()
    for (const { fileName } of importedFiles) {
      if (!fileName.startsWith('.')) continue
      const target = resolveSource(dirname(file), fileName)
      if (target !== undefined) targets.add(target)
    }
    graph.set(file, [...targets])
  }
  return graph
}

/**
 * The cycles of the graph: one per strongly connected component with more than one file, or a
 * file importing itself (Tarjan's algorithm), each as a shortest path through the component and
 * the component's size.
 */
function findCycles(graph) {
  const index = new Map()
  const low = new Map()
  const stack = []
  const onStack = new Set()
  const cycles = []
  let next = 0
  const visit = (file) => {
    index.set(file, next)
    low.set(file, next++)
    stack.push(file)
    onStack.add(file)
    for (const target of graph.get(file) ?? []) {
      if (!index.has(target)) {
        visit(target)
        low.set(file, Math.min(low.get(file), low.get(target)))
      } else if (onStack.has(target)) {
        low.set(file, Math.min(low.get(file), index.get(target)))
      }
    }
    if (low.get(file) !== index.get(file)) return
    const component = []
    let member
    do {
      member = stack.pop()
      onStack.delete(member)
      component.push(member)
    } while (member !== file)
    const selfImport = (graph.get(file) ?? []).includes(file)
    if (component.length > 1 || selfImport) {
      cycles.push({ path: cyclePath(graph, new Set(component)), size: component.length })
    }
  }
  for (const file of graph.keys()) if (!index.has(file)) visit(file)
  return cycles
}

/** A closed walk through a component, from its first file (sorted) back to it. */
function cyclePath(graph, component) {
  const start = [...component].sort()[0]
  // Breadth-first from `start` inside the component, back to `start`: the shortest cycle through it.
  const previous = new Map()
  const queue = [start]
  while (queue.length > 0) {
    const file = queue.shift()
    for (const target of graph.get(file) ?? []) {
      if (!component.has(target)) continue
      if (target === start) {
        const path = [file]
        while (path[0] !== start) path.unshift(previous.get(path[0]))
        return path
      }
      if (!previous.has(target)) {
        previous.set(target, file)
        queue.push(target)
      }
    }
  }
  return [start]
}

/** The source file a relative specifier names, or undefined (a JSON file, an asset). */
function resolveSource(from, specifier) {
  const base = resolve(from, specifier)
  const candidates = [
    base.replace(/\.(c|m)?js$/, '.$1ts'),
    base.replace(/\.jsx$/, '.tsx'),
    base,
    `${base}.ts`,
    join(base, 'index.ts'),
  ]
  return candidates.find((file) => SOURCE.test(file) && isFile(file))
}

/** Every TypeScript source file under `dir`, recursively. */
function sourceFiles(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && SOURCE.test(entry.name) && !entry.name.endsWith('.d.ts'))
    .map((entry) => join(entry.parentPath, entry.name))
}

/** Whether `path` is an existing file. */
function isFile(path) {
  return existsSync(path) && statSync(path).isFile()
}
