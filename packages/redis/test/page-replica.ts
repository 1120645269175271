import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { bundleFixture } from './bundle.js'

/**
 * A replica of a page-serving service in its own process (test/fixtures/replica.ts): an upstream
 * client and an event aggregator sharing a Redis store, driven over IPC. Shared by the
 * single-node and the cluster fleet tests.
 */
export interface PageReplica {
  ask(message: {
    op: 'page' | 'mode' | 'user' | 'stats'
    userId?: string
    limit?: number
  }): Promise<Record<string, unknown>>
  /** SIGKILL by pid (a crash; also how tests end a replica). */
  kill(): void
}

const packageDir = fileURLToPath(new URL('..', import.meta.url))

/**
 * Forks a replica with `env` (UPSTREAM_URL, REDIS_URL or REDIS_CLUSTER_NODES, NAMESPACE, FLEET,
 * LEASE_MS, WAIT_MS) and waits until it serves.
 */
export async function spawnPageReplica(env: Record<string, string>): Promise<PageReplica> {
  const child: ChildProcess = fork(await bundleFixture('replica'), [], {
    cwd: packageDir,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const pending = new Map<number, (body: Record<string, unknown>) => void>()
  let next = 1
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code) => reject(new Error(`the replica exited with ${code}`)))
  })
  exited.catch(() => {})
  const ready = new Promise<void>((resolve) => {
    child.on('message', (body: Record<string, unknown> & { id: number }) => {
      if (body.id === 0) return resolve()
      const { id, ...rest } = body
      pending.get(id)?.(rest)
      pending.delete(id)
    })
  })
  await Promise.race([ready, exited])
  return {
    ask(message) {
      const id = next++
      if (child.exitCode !== null) return Promise.reject(new Error('the replica has exited'))
      const answered = new Promise<Record<string, unknown>>((resolve) => pending.set(id, resolve))
      child.send({ id, ...message })
      return Promise.race([answered, exited])
    },
    kill() {
      if (child.exitCode === null) child.kill('SIGKILL')
    },
  }
}
