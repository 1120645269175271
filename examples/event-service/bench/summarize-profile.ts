/**
 * Summarises a V8 `.cpuprofile` (`node --cpu-prof`) by self time: per package (a dependency, a
 * workspace package, the service's own bundle, a Node internal module) and per function, as
 * shares of the busy samples (idle and `(program)` left out).
 *
 * `npx tsx bench/summarize-profile.ts <file.cpuprofile> [functions=40]`
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** Private: the parts of a `.cpuprofile` read here. */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[]
  samples: number[]
  timeDeltas: number[]
}

/** The self-time tables of a `.cpuprofile` file, as text; `count` functions are listed. */
export function summarizeProfile(file: string, count: number): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map<number, number>()
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  })
  const byPackage = new Map<string, number>()
  const byFunction = new Map<string, number>()
  let busy = 0
  for (const [id, time] of self) {
    const frame = (nodes.get(id) as CpuProfile['nodes'][number]).callFrame
    const name = frame.functionName || '(anonymous)'
    if (name === '(idle)' || name === '(program)') continue
    busy += time
    const url = frame.url.replace(/^file:\/\//, '')
    add(byPackage, packageOf(url, name), time)
    add(byFunction, `${name} ${url.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}`, time)
  }
  const top = (map: Map<string, number>, n: number) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([key, time]) => `${((100 * time) / busy).toFixed(1).padStart(5)} %  ${key}`)
      .join('\n')
  return `busy ${(busy / 1e6).toFixed(1)} s\n-- by package\n${top(byPackage, 25)}\n-- by function\n${top(byFunction, count)}`
}

/** Private. */
function add(map: Map<string, number>, key: string, time: number): void {
  map.set(key, (map.get(key) ?? 0) + time)
}

/** Private: the package a frame's file belongs to. */
function packageOf(url: string, name: string): string {
  const dependency = url.match(
    /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/,
  )
  if (dependency) return dependency[1] as string
  if (url.includes('/packages/')) return `@userevents/${url.split('/packages/')[1]?.split('/')[0]}`
  if (url.includes('/dist/')) return 'the service'
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`
  return url || name
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(summarizeProfile(String(process.argv[2]), Number(process.argv[3] ?? 40)))
}
