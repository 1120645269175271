import { type ChildProcess, fork } from 'node:child_process'
import { bundleFixture } from './bundle.js'
import type { ReplicaCommand, ReplicaMessage } from './fixtures/fleet-replica.js'

/** Settings of one replica process; see `fixtures/fleet-replica.ts`. */
export interface ReplicaSettings {
  /** One Redis server, or (with `clusterNodes`) unused. */
  redisUrl: string
  /** Start-up nodes of a Redis Cluster; the replica then connects to it instead of `redisUrl`. */
  clusterNodes?: readonly string[]
  upstream: string
  fleet?: 'on' | 'off'
  quorum?: number
  resetMs?: number
  windowMs?: number
  retries?: number
  timeoutMs?: number
  /**
   * Redis command timeout. Default 1 000 ms, not the connection's 50: on a shared, loaded
   * machine a 50 ms timeout sends a replica to local mode now and then, and these tests and the
   * benchmark measure the fleet path (the fallback has its own test: Redis stopped).
   */
  commandTimeoutMs?: number
}

type StateMessage = Extract<ReplicaMessage, { type: 'state' }>

/** A replica process and what it reported. */
export interface Replica {
  readonly id: string
  /** Every circuit state change it reported, in order. */
  readonly states: StateMessage[]
  /** Its Redis connection's switches between fleet and local mode, in order. */
  readonly modes: string[]
  /** One GET through its client: `ok`, or the error code, with its upstream request count. */
  call(path: string): Promise<{ ok: boolean; code?: string; requests: number }>
  /** `count` concurrent GETs; the outcome code of each (`ok` for a success). */
  burst(path: string, count: number): Promise<{ codes: string[]; requests: number }>
  /** When it received a ping sent now (`performance.timeOrigin + performance.now()`): a baseline. */
  ping(): Promise<number>
  /** Closes its client and connections and waits for it to exit. */
  close(): Promise<void>
}

/** Forks a replica process and waits until its Redis connection is ready. */
export async function startReplica(id: string, settings: ReplicaSettings): Promise<Replica> {
  const child: ChildProcess = fork(await bundleFixture('fleet-replica'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: {
      ...process.env,
      REDIS_URL: settings.redisUrl,
      ...(settings.clusterNodes === undefined
        ? {}
        : { REDIS_CLUSTER_NODES: settings.clusterNodes.join(',') }),
      UPSTREAM: settings.upstream,
      REPLICA: id,
      FLEET: settings.fleet ?? 'on',
      QUORUM: String(settings.quorum ?? 2),
      RESET_MS: String(settings.resetMs ?? 60_000),
      WINDOW_MS: String(settings.windowMs ?? 30_000),
      RETRIES: String(settings.retries ?? 0),
      TIMEOUT_MS: String(settings.timeoutMs ?? 1_000),
      COMMAND_TIMEOUT_MS: String(settings.commandTimeoutMs ?? 1_000),
    },
  })
  const states: StateMessage[] = []
  const modes: string[] = []
  const pending = new Map<number, (message: ReplicaMessage) => void>()
  let next = 0
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`replica ${id} exited with ${code}`)))
    child.on('message', (message: ReplicaMessage) => {
      if (message.type === 'ready') resolve()
      else if (message.type === 'state') states.push(message)
      else if (message.type === 'mode') modes.push(message.mode)
      else pending.get(message.id)?.(message)
    })
  })
  await ready
  child.once('exit', (code) => {
    for (const [key, settle] of pending) {
      pending.delete(key)
      settle({ type: 'result', id: key, ok: false, code: `EXITED_${code}`, requests: -1 })
    }
  })
  const ask = <T extends ReplicaMessage>(command: ReplicaCommand & { id: number }) =>
    new Promise<T>((resolve) => {
      pending.set(command.id, (message) => {
        pending.delete(command.id)
        resolve(message as T)
      })
      child.send(command)
    })
  return {
    id,
    states,
    modes,
    call: (path) =>
      ask<Extract<ReplicaMessage, { type: 'result' }>>({ type: 'call', id: ++next, path }),
    burst: (path, count) =>
      ask<Extract<ReplicaMessage, { type: 'burst' }>>({ type: 'burst', id: ++next, path, count }),
    ping: () =>
      ask<Extract<ReplicaMessage, { type: 'pong' }>>({ type: 'ping', id: ++next }).then(
        (m) => m.at,
      ),
    async close() {
      if (child.exitCode !== null || !child.connected) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.send({ type: 'close' } satisfies ReplicaCommand)
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(timer)
    },
  }
}
