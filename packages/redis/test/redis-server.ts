import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { createServer, Socket } from 'node:net'

/**
 * A real `redis-server` for tests, started by the test on a free loopback port and stopped by
 * pid. Shared by this package's tests (and fleet-breaker tests built on top of it).
 *
 * `redis-server` cannot bind port 0, so a free port is found by binding port 0 with `node:net`,
 * releasing it and starting Redis there; if another process takes the port in between, Redis
 * fails to bind and another port is tried. Nothing is persisted (`--save '' --appendonly no`).
 */
export interface RedisServer {
  /** The port Redis listens on (kept across `restart()`). */
  readonly port: number
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string
  /** The pid of the running server, or `undefined` while stopped. */
  readonly pid: number | undefined
  /** Stops the server (SIGTERM to its pid) and waits for it to exit. Idempotent. */
  stop(): Promise<void>
  /** Starts it again on the same port (data is gone: nothing is persisted). */
  restart(): Promise<void>
}

/** The `redis-server` to run: `$REDIS_SERVER`, else the one on the PATH. */
export const redisServerBinary = process.env.REDIS_SERVER ?? 'redis-server'

/** True when {@link redisServerBinary} can be run. */
export function hasRedisServer(): boolean {
  return spawnSync(redisServerBinary, ['--version'], { stdio: 'ignore' }).status === 0
}

/** Starts a Redis server on a free port of 127.0.0.1; see {@link RedisServer}. */
export async function startRedisServer(): Promise<RedisServer> {
  if (!hasRedisServer()) {
    throw new Error(
      `${redisServerBinary} not found: install it (Debian/Ubuntu: apt-get install redis-server) or run scripts/ensure-redis.sh`,
    )
  }
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    try {
      const child = await launch(port)
      return handle(port, child)
    } catch (error) {
      if (attempt >= 5) throw error
    }
  }
}

// Private helpers below.

function handle(port: number, first: ChildProcess): RedisServer {
  let child: ChildProcess | undefined = first
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child?.pid
    },
    async stop() {
      const running = child
      child = undefined
      if (running === undefined || running.exitCode !== null) return
      const exited = once(running, 'exit')
      process.kill(running.pid as number, 'SIGTERM')
      await exited
    },
    async restart() {
      await this.stop()
      child = await launch(port)
    },
  }
}

/**
 * Starts `redis-server` on `port` (plus `extra` arguments) and resolves once it answers as
 * itself (its pid), or rejects when it exits or stays silent for 5 s. Shared with the cluster
 * harness (`redis-cluster.ts`).
 */
export async function launch(port: number, extra: readonly string[] = []): Promise<ChildProcess> {
  const child = spawn(
    redisServerBinary,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  child.stdout?.on('data', (chunk) => {
    output += chunk
  })
  child.stderr?.on('data', (chunk) => {
    output += chunk
  })
  const deadline = Date.now() + 5_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`redis-server on port ${port} exited: ${output.trim().split('\n').at(-1)}`)
    }
    // The pid check makes sure it is our server answering, not another one on a reused port.
    if ((await serverPid(port)) === child.pid) {
      child.stdout?.removeAllListeners('data')
      child.stderr?.removeAllListeners('data')
      child.stdout?.resume()
      child.stderr?.resume()
      return child
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  child.kill('SIGKILL')
  throw new Error(`redis-server on port ${port} did not answer PING within 5 s`)
}

/** `process_id` from `INFO server` over a raw socket, or `undefined` when nothing answers. */
export function serverPid(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const socket = new Socket()
    let reply = ''
    const done = (pid: number | undefined) => {
      socket.destroy()
      resolve(pid)
    }
    socket.setTimeout(200, () => done(undefined))
    socket.once('error', () => done(undefined))
    socket.on('data', (data) => {
      reply += data.toString()
      const match = /process_id:(\d+)/.exec(reply)
      if (match) done(Number(match[1]))
    })
    socket.connect(port, '127.0.0.1', () => socket.write('INFO server\r\n'))
  })
}

/** A port of 127.0.0.1 that was free a moment ago (bound on port 0 and released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}
