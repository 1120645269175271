import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { freePort, launch, redisServerBinary } from './redis-server.js'

/**
 * A real Redis Cluster for tests and demos: 3 primaries and 3 replicas, each a `redis-server
 * --cluster-enabled yes --cluster-node-timeout 2000` on a free loopback port, with its cluster
 * bus on a second free port (`--cluster-port`) and its own temporary directory (nodes.conf),
 * joined by `redis-cli --cluster create … --cluster-replicas 1 --cluster-yes`. Nothing is
 * persisted. Every process is stopped by pid, and every directory removed, by `stop()` and on
 * any exit of the process that started them (normal exit, uncaught error, SIGINT/SIGTERM).
 */
export interface RedisCluster {
  /** Every node, primaries and replicas as created (roles change on failover). */
  readonly nodes: readonly ClusterNodeProcess[]
  /** `redis://127.0.0.1:<port>` of every node: start-up nodes for a client. */
  readonly urls: readonly string[]
  /** The current primaries (`CLUSTER NODES` of a live node), with the port of their replica. */
  primaries(): Promise<Array<{ port: number; replicaPort: number | undefined }>>
  /** SIGKILLs one node by pid (no shutdown, no failover handshake: a crash). */
  kill(port: number): void
  /**
   * Resolves once every live node reports `cluster_state:ok` and `port` (the replica of a killed
   * primary) is a primary; rejects after `timeoutMs`.
   */
  waitForPromotion(port: number, timeoutMs: number): Promise<void>
  /** Stops every node (SIGKILL by pid: nothing to save) and removes their directories. Idempotent. */
  stop(): Promise<void>
}

/** One `redis-server` of the cluster. */
export interface ClusterNodeProcess {
  readonly port: number
  readonly pid: number
  /** False once it was killed or stopped. */
  readonly alive: boolean
}

/** The `redis-cli` next to `$REDIS_SERVER` when that is a path, else the one on the PATH. */
export const redisCliBinary =
  process.env.REDIS_CLI ??
  (redisServerBinary.includes('/') ? join(dirname(redisServerBinary), 'redis-cli') : 'redis-cli')

/** Starts a 3 + 3 cluster and waits until it serves every slot; see {@link RedisCluster}. */
export async function startRedisCluster(): Promise<RedisCluster> {
  const started: Array<{ port: number; child: ChildProcess; dir: string }> = []
  const cleanup = () => {
    for (const node of started) {
      if (node.child.exitCode === null && node.child.signalCode === null) {
        node.child.kill('SIGKILL')
      }
      rmSync(node.dir, { recursive: true, force: true })
    }
  }
  const onExit = () => cleanup()
  const onSignal = (signal: NodeJS.Signals) => {
    cleanup()
    process.kill(process.pid, signal)
  }
  process.once('exit', onExit)
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  const detach = () => {
    process.off('exit', onExit)
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  try {
    for (let i = 0; i < 6; i++) started.push(await startNode())
    await createCluster(started.map((n) => n.port))
    await until(
      async () => {
        const states = await Promise.all(started.map((n) => ask(n.port, 'CLUSTER INFO')))
        return states.every(
          (s) => /cluster_state:ok/.test(s ?? '') && /cluster_known_nodes:6/.test(s ?? ''),
        )
      },
      20_000,
      'cluster_state:ok on every node',
    )
    // A replica that never synced may refuse to fail over (its data is too old): wait for the links.
    await until(
      async () => {
        const infos = await Promise.all(started.map((n) => ask(n.port, 'INFO replication')))
        const replicas = infos.filter((s) => /role:slave/.test(s ?? ''))
        return replicas.length === 3 && replicas.every((s) => /master_link_status:up/.test(s ?? ''))
      },
      20_000,
      'every replica in sync with its primary',
    )
  } catch (error) {
    cleanup()
    detach()
    throw error
  }
  const nodes = started.map(({ port, child }) => ({
    port,
    pid: child.pid as number,
    get alive() {
      return child.exitCode === null && child.signalCode === null
    },
  }))
  let stopping: Promise<void> | undefined
  return {
    nodes,
    urls: started.map((n) => `redis://127.0.0.1:${n.port}`),
    async primaries() {
      const live = nodes.find((n) => n.alive)
      const text = live === undefined ? undefined : await ask(live.port, 'CLUSTER NODES')
      if (text === undefined) throw new Error('no live cluster node answered CLUSTER NODES')
      return parsePrimaries(text)
    },
    kill(port) {
      const node = started.find((n) => n.port === port)
      if (node === undefined) throw new Error(`no cluster node on port ${port}`)
      process.kill(node.child.pid as number, 'SIGKILL')
    },
    async waitForPromotion(port, timeoutMs) {
      await until(
        async () => {
          const live = nodes.filter((n) => n.alive)
          const infos = await Promise.all(live.map((n) => ask(n.port, 'CLUSTER INFO')))
          if (!infos.every((s) => /cluster_state:ok/.test(s ?? ''))) return false
          const role = await ask(port, 'INFO replication')
          return /role:master/.test(role ?? '')
        },
        timeoutMs,
        `the replica on ${port} promoted and cluster_state:ok`,
      )
    },
    stop() {
      stopping ??= (async () => {
        const exits = started
          .filter((n) => n.child.exitCode === null && n.child.signalCode === null)
          .map((n) => {
            const exited = once(n.child, 'exit')
            process.kill(n.child.pid as number, 'SIGKILL')
            return exited
          })
        await Promise.all(exits)
        cleanup()
        detach()
      })()
      return stopping
    },
  }
}

/**
 * Sends one inline command to a node over a raw socket and resolves to its bulk-string reply,
 * or `undefined` when the node does not answer within 500 ms (dead, or busy electing).
 */
export function ask(port: number, command: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = new Socket()
    let reply = Buffer.alloc(0)
    const done = (value: string | undefined) => {
      socket.destroy()
      resolve(value)
    }
    socket.setTimeout(500, () => done(undefined))
    socket.once('error', () => done(undefined))
    socket.on('data', (data) => {
      reply = Buffer.concat([reply, data])
      const header = reply.indexOf('\r\n')
      if (header === -1) return
      if (reply[0] !== 36 /* $ */) return done(reply.subarray(0, header).toString())
      const length = Number(reply.subarray(1, header).toString())
      if (reply.length >= header + 2 + length) {
        done(reply.subarray(header + 2, header + 2 + length).toString())
      }
    })
    socket.connect(port, '127.0.0.1', () => socket.write(`${command}\r\n`))
  })
}

// Private helpers below.

/** Private: one cluster-enabled node on a free port, its bus on another, in its own directory. */
async function startNode(): Promise<{ port: number; child: ChildProcess; dir: string }> {
  for (let attempt = 1; ; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), 'userevents-cluster-node-'))
    const port = await freePort()
    const bus = await freePort()
    try {
      const child = await launch(port, [
        '--cluster-enabled',
        'yes',
        '--cluster-node-timeout',
        '2000',
        '--cluster-port',
        String(bus),
        '--cluster-config-file',
        'nodes.conf',
        '--dir',
        dir,
      ])
      return { port, child, dir }
    } catch (error) {
      rmSync(dir, { recursive: true, force: true })
      if (attempt >= 5 || port === bus) throw error
    }
  }
}

/** Private: `redis-cli --cluster create` over the six nodes, three of them replicas. */
async function createCluster(ports: number[]): Promise<void> {
  const child = spawn(
    redisCliBinary,
    [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '1',
      '--cluster-yes',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  child.stdout?.on('data', (chunk) => {
    output += chunk
  })
  child.stderr?.on('data', (chunk) => {
    output += chunk
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
  const [code] = (await once(child, 'exit')) as [number | null]
  clearTimeout(timer)
  if (code !== 0) throw new Error(`redis-cli --cluster create failed (${code}): ${output.trim()}`)
}

/** Private: primaries with slots, and the port of the replica following each, from CLUSTER NODES. */
function parsePrimaries(text: string): Array<{ port: number; replicaPort: number | undefined }> {
  const lines = text
    .trim()
    .split('\n')
    .map((line) => line.trim().split(' '))
  const portOf = (address: string | undefined) => Number(/:(\d+)[@,]/.exec(`${address},`)?.[1])
  const primaries = lines.filter(
    (f) => f[2]?.includes('master') && !f[2]?.includes('fail') && f.length > 8,
  )
  return primaries.map((p) => {
    const replica = lines.find(
      (f) => f[2]?.includes('slave') && !f[2]?.includes('fail') && f[3] === p[0],
    )
    return { port: portOf(p[1]), replicaPort: replica ? portOf(replica[1]) : undefined }
  })
}

/** Private: polls `check` every 50 ms until true; rejects naming `what` after `timeoutMs`. */
async function until(check: () => Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
