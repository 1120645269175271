import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis'
import { fail } from './options.js'

/**
 * An ioredis client the connection runs commands on: one Redis server (`Redis`) or a Redis
 * Cluster (`Cluster`, which routes each command to the primary of its key's slot).
 */
export type RedisClient = Redis | Cluster

/** @internal The command client, the subscriber client, and who owns the command client. */
export interface Clients {
  command: RedisClient
  subscriber: RedisClient
  /** True when the command client was made here (closed by `close()`). */
  owned: boolean
  /** True for a Redis Cluster: health is `CLUSTER INFO`, each call is bounded here. */
  cluster: boolean
}

/** @internal Where to connect: exactly one of the three, already validated. */
export type Target =
  | { kind: 'url'; url: string }
  | { kind: 'cluster'; nodes: ClusterNodes }
  | { kind: 'client'; client: RedisClient }

/** @internal Cluster start-up nodes with the credentials and TLS shared by every node. */
export interface ClusterNodes {
  nodes: Array<{ host: string; port: number }>
  username?: string
  password?: string
  tls: boolean
}

/**
 * @internal Validates `url`, `cluster` and `redis` (exactly one) before any I/O, quoting the bad
 * value.
 */
export function resolveTarget(options: {
  url?: unknown
  cluster?: unknown
  redis?: unknown
}): Target {
  const { url, cluster, redis } = options
  const given = [url, cluster, redis].filter((v) => v !== undefined).length
  if (given !== 1) {
    fail(
      'url',
      'a redis:// URL, or `cluster` a list of node URLs, or `redis` an ioredis client (exactly one of them)',
      url,
    )
  }
  if (url !== undefined) {
    if (typeof url !== 'string' || !/^rediss?:\/\/\S+$/.test(url)) {
      fail('url', 'a redis:// or rediss:// URL', url)
    }
    return { kind: 'url', url }
  }
  if (cluster !== undefined) return { kind: 'cluster', nodes: parseClusterNodes(cluster) }
  if (!(redis instanceof Redis) && !(redis instanceof Cluster)) {
    fail('redis', 'an ioredis client (Redis or Cluster)', redis)
  }
  return { kind: 'client', client: redis }
}

/**
 * @internal Parses cluster start-up nodes: each `host:port`, `redis://[user:password@]host:port`
 * or `rediss://…`. Credentials and TLS apply to every node of a cluster, so the entries must
 * agree on them; a database other than 0 does not exist on a cluster.
 */
export function parseClusterNodes(value: unknown): ClusterNodes {
  if (!Array.isArray(value) || value.length === 0) {
    fail('cluster', 'a non-empty array of node addresses (host:port or redis:// URLs)', value)
  }
  const parsed = value.map((entry, i) => parseNode(`cluster[${i}]`, entry))
  const first = parsed[0] as ParsedNode
  for (const [i, node] of parsed.entries()) {
    if (
      node.tls !== first.tls ||
      node.username !== first.username ||
      node.password !== first.password
    ) {
      fail(
        `cluster[${i}]`,
        'a node with the same scheme and credentials as cluster[0] (they apply to every node)',
        redact(value[i] as string),
      )
    }
  }
  return {
    nodes: parsed.map(({ host, port }) => ({ host, port })),
    tls: first.tls,
    ...(first.username === undefined ? {} : { username: first.username }),
    ...(first.password === undefined ? {} : { password: first.password }),
  }
}

/**
 * @internal Opens the clients of a connection. Connections made here fail fast: a short command
 * timeout, no offline queue, no retries of a command, while reconnecting forever in the
 * background (Redis coming back is how fleet mode resumes).
 */
export function openClients(target: Target, commandTimeout: number): Clients {
  if (target.kind === 'client') {
    const command = target.client
    return {
      command,
      subscriber: duplicateForSubscriber(command),
      owned: false,
      cluster: command instanceof Cluster,
    }
  }
  const command =
    target.kind === 'url'
      ? new Redis(target.url, singleNodeOptions(commandTimeout))
      : new Cluster(target.nodes.nodes, clusterOptions(target.nodes, commandTimeout))
  return {
    command,
    subscriber: duplicateForSubscriber(command),
    owned: true,
    cluster: target.kind === 'cluster',
  }
}

// Private helpers below.

/**
 * How long ioredis waits, after `disconnect()`, for a socket to close before destroying it. Its
 * default (2 s) is a timer that, for a socket whose connection attempt had failed (Redis away),
 * is never cleared, and kept the process alive 2 s after `close()`. Ours closes at once: a
 * closing connection has nothing left to flush that matters.
 */
const DISCONNECT_TIMEOUT_MS = 0

interface ParsedNode {
  host: string
  port: number
  tls: boolean
  username?: string
  password?: string
}

/** Private: one start-up node, `host:port` or a redis:// / rediss:// URL. */
function parseNode(option: string, entry: unknown): ParsedNode {
  if (typeof entry !== 'string') fail(option, 'a host:port or redis:// URL string', entry)
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(entry) ? entry : `redis://${entry}`
  let url: URL
  try {
    url = new URL(withScheme)
  } catch {
    fail(option, 'a host:port or redis:// URL', redact(entry))
  }
  const port = Number(url.port)
  if (
    (url.protocol !== 'redis:' && url.protocol !== 'rediss:') ||
    url.hostname === '' ||
    url.port === '' ||
    !Number.isInteger(port) ||
    port < 1 ||
    port > 65_535
  ) {
    fail(option, 'a host:port or redis:// / rediss:// URL with a port', redact(entry))
  }
  if (url.pathname !== '' && url.pathname !== '/' && url.pathname !== '/0') {
    fail(option, 'a node URL without a database (a cluster has database 0 only)', redact(entry))
  }
  const node: ParsedNode = {
    // URL keeps IPv6 brackets; net.connect wants the bare address.
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port,
    tls: url.protocol === 'rediss:',
  }
  if (url.username !== '') node.username = decodeURIComponent(url.username)
  if (url.password !== '') node.password = decodeURIComponent(url.password)
  return node
}

/** Private: an address with its password replaced, for error messages. */
function redact(entry: string): string {
  return entry.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')
}

/** Private: fail-fast settings of a single-node command connection. */
function singleNodeOptions(commandTimeout: number): RedisOptions {
  return {
    commandTimeout,
    // Fail fast while disconnected instead of queueing without bound: the circuit counts the
    // failure and the caller takes its local path at once.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 1_000,
    // Keep reconnecting forever, backing off to 1 s: Redis coming back is how fleet mode resumes.
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 5), 1_000),
    enableAutoPipelining: true,
    lazyConnect: false,
    disconnectTimeout: DISCONNECT_TIMEOUT_MS,
  }
}

/**
 * Private: the same fail-fast settings for a cluster. Redirections (`MOVED`/`ASK`) and the
 * retries ioredis makes during a failover (`CLUSTERDOWN`, a closed node connection) are kept,
 * with short delays, because they are how a call reaches the promoted replica; the connection
 * bounds each call as a whole by the command timeout, so they never hold a caller longer.
 * Auto-pipelining is off: a pipeline caught in a failover is redirected or failed as a whole,
 * where single commands are redirected one by one.
 */
function clusterOptions(nodes: ClusterNodes, commandTimeout: number): ClusterOptions {
  return {
    // With TLS, connect to the host names given, not to the addresses they resolve to: the
    // nodes' certificates name the hosts (ioredis' advice for ElastiCache with TLS).
    ...(nodes.tls ? { dnsLookup: (address, callback) => callback(null, address) } : {}),
    enableOfflineQueue: false,
    enableReadyCheck: true,
    retryDelayOnFailover: 50,
    retryDelayOnClusterDown: 50,
    retryDelayOnTryAgain: 50,
    maxRedirections: 16,
    slotsRefreshTimeout: 1_000,
    clusterRetryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 5), 1_000),
    redisOptions: {
      commandTimeout,
      maxRetriesPerRequest: 0,
      connectTimeout: 1_000,
      disconnectTimeout: DISCONNECT_TIMEOUT_MS,
      ...(nodes.username === undefined ? {} : { username: nodes.username }),
      ...(nodes.password === undefined ? {} : { password: nodes.password }),
      ...(nodes.tls ? { tls: {} } : {}),
    },
  }
}

/**
 * Private: the subscriber connection, a duplicate of the command client. It may queue its few
 * SUBSCRIBE commands until it is connected; ioredis re-sends them after every reconnect
 * (autoResubscribe; on a cluster, its subscriber moves to another node when its node leaves).
 * It has no command timeout: ioredis does not handle the promise of that re-subscription, so a
 * timeout there would surface as an unhandled rejection, and nothing waits on this connection
 * anyway (waiters also poll). `maxRetriesPerRequest: null`: the command connection's 0 would
 * reject a queued SUBSCRIBE on the first failed connection attempt, and ioredis re-subscribes
 * after a reconnect only to channels whose SUBSCRIBE had succeeded: the channel would be lost
 * for good (seen under load, where the subscriber's first attempts can fail).
 */
function duplicateForSubscriber(command: RedisClient): RedisClient {
  if (command instanceof Cluster) {
    return command.duplicate([], {
      enableOfflineQueue: true,
      lazyConnect: false,
      redisOptions: {
        ...command.options.redisOptions,
        commandTimeout: undefined,
        maxRetriesPerRequest: null,
        disconnectTimeout: DISCONNECT_TIMEOUT_MS,
      },
    } as ClusterOptions)
  }
  return command.duplicate({
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    lazyConnect: false,
    commandTimeout: undefined,
    disconnectTimeout: DISCONNECT_TIMEOUT_MS,
  })
}
