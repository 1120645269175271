import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const packageDir = fileURLToPath(new URL('..', import.meta.url))
const bundles = new Map<string, Promise<string>>()

/**
 * Bundles `test/fixtures/<name>.ts` from the workspace sources once per process (the tsconfig's
 * paths point `@userevents/*` at `src/`), so a child process starts as plain node, quickly, and
 * never runs a stale `dist/`. The bundle is removed when the process exits.
 */
export function bundleFixture(name: string): Promise<string> {
  let bundled = bundles.get(name)
  if (bundled === undefined) {
    bundled = (async () => {
      const dir = mkdtempSync(join(tmpdir(), `userevents-${name}-`))
      process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
      const source = fileURLToPath(new URL(`./fixtures/${name}.ts`, import.meta.url))
      const outfile = join(dir, `${basename(name)}.mjs`)
      await build({
        entryPoints: [source],
        outfile,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        tsconfig: join(packageDir, 'tsconfig.json'),
        logLevel: 'error',
        // ioredis and other CommonJS dependencies call require(); give the ESM bundle one.
        banner: {
          js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
        },
      })
      return outfile
    })()
    bundles.set(name, bundled)
  }
  return bundled
}

/**
 * Runs `test/fixtures/close-child.ts` with `env`: it creates a connection, closes it and reports
 * `closed`; from then it has `boundMs` to exit by itself before it is SIGKILLed. Resolves to how
 * it ended: `exited` (by itself, code 0) or `killed` (something kept it alive).
 */
export async function closeInChild(
  env: Record<string, string>,
  boundMs: number,
): Promise<{ ended: 'exited' | 'killed' | 'failed'; closed: boolean; code: number | null }> {
  const { fork } = await import('node:child_process')
  const child = fork(await bundleFixture('close-child'), [], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  let closed = false
  let killed = false
  let timer: ReturnType<typeof setTimeout> | undefined
  child.on('message', () => {
    closed = true
    timer = setTimeout(() => {
      killed = true
      child.kill('SIGKILL')
    }, boundMs)
  })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  clearTimeout(timer)
  return { ended: killed ? 'killed' : code === 0 ? 'exited' : 'failed', closed, code }
}
