import { ConfigError } from './errors/ConfigError.js'

/** pino's level names, plus `silent`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/** A pino log level name. */
export type LogLevel = (typeof LOG_LEVELS)[number]

/**
 * The service's validated configuration. Built by {@link loadConfig} from the environment; tests
 * and the demo build it with overrides instead, so nothing here reads `process.env` by itself.
 */
export interface ServiceConfig {
  /** `PORT`: TCP port to listen on; 0 picks a free one. */
  port: number
  /** `HOST`: interface to bind. */
  host: string
  /**
   * `METRICS_PORT`: serve `/metrics` on this port of `METRICS_HOST` instead of on `PORT`, so a
   * deployment can keep its metrics off the public interface (the main port then answers `404`
   * there). `undefined` (unset): `/metrics` is a route of the main port. 0 picks a free port.
   */
  metricsPort: number | undefined
  /** `METRICS_HOST`: interface of the metrics port (only with `METRICS_PORT`). */
  metricsHost: string
  /**
   * `UPSTREAM_BASE`: origin of the event API. `undefined` means "start the mock upstream embedded
   * on a loopback port in flapping mode", so `pnpm start` works on a fresh machine.
   */
  upstreamBase: string | undefined
  /**
   * `REDIS_URL`: turns fleet mode on (`redis://` or `rediss://`): one cache and one single-flight
   * shared by every replica, and one circuit per upstream operation for the whole fleet, through
   * `@userevents/redis`. Unset: everything stays in-process.
   */
  redisUrl: string | undefined
  /**
   * `REDIS_CLUSTER_NODES`: fleet mode on a Redis Cluster instead of one server: its start-up
   * nodes, comma-separated, each `host:port` or a `redis://` / `rediss://` URL with credentials
   * (`redis://user:password@10.0.0.1:6379`). Setting it together with `REDIS_URL` is a
   * configuration error.
   */
  redisClusterNodes: string[] | undefined
  /**
   * `FLEET_QUORUM`: distinct replicas whose failures open a fleet circuit (fleet mode only); 1
   * lets any one replica's failures stop the fleet.
   */
  fleetQuorum: number
  /**
   * `REDIS_COMMAND_TIMEOUT_MS`: timeout of each Redis command (fleet mode only); past it the
   * command fails and, after a few, the replica switches to local mode until Redis answers again.
   */
  redisCommandTimeoutMs: number
  upstream: {
    /** `UPSTREAM_TIMEOUT_MS`: per-attempt timeout. Must exceed the upstream's 500 ms event delay. */
    timeoutMs: number
    /** `UPSTREAM_DEADLINE_MS`: budget for a whole call, retries included. */
    deadlineMs: number
    /** `UPSTREAM_RETRIES`: retries after the first attempt (0 disables retrying). */
    retries: number
    /** `UPSTREAM_CONNECTIONS`: keep-alive connections per upstream origin. */
    connections: number
    /** `UPSTREAM_BATCH`: use the upstream's `GET /getEventsByIds` batch route. */
    batch: boolean
  }
  breaker: {
    /** `BREAKER_FAILURE_THRESHOLD`: failures inside the window that open the circuit. */
    failureThreshold: number
    /** `BREAKER_WINDOW_MS`: rolling window over which failures are counted. */
    windowMs: number
    /** `BREAKER_RESET_TIMEOUT_MS`: time the circuit stays open before a half-open probe. */
    resetTimeoutMs: number
  }
  /** `CACHE_TTL_MS`: TTL of the per-event cache (events do not change once written); 0 disables it. */
  cacheTtlMs: number
  /**
   * `LIST_CACHE_TTL_MS`: TTL of the caches of the lists that grow: users with their event ids
   * (the aggregator's user cache) and `/getUsers`, `/getEvents` (the upstream client's GET
   * cache). Short, so a new event shows up quickly; expired entries are still served while the
   * upstream is down. 0 disables both.
   */
  listCacheTtlMs: number
  /** `AGGREGATOR_CONCURRENCY`: event fetches in flight per page. */
  aggregatorConcurrency: number
  /** `PAGE_MAX_LIMIT`: the largest `limit` a caller may ask for. */
  pageMaxLimit: number
  /** `LOG_LEVEL`: pino level. */
  logLevel: LogLevel
  /** `BODY_LIMIT_BYTES`: largest accepted request body; larger answers 413. */
  bodyLimitBytes: number
  /** `SHUTDOWN_TIMEOUT_MS`: how long a graceful shutdown may drain before it gives up. */
  shutdownTimeoutMs: number
}

/** The configuration used when no variable is set. */
export const DEFAULT_CONFIG: Readonly<ServiceConfig> = Object.freeze({
  port: 3000,
  host: '127.0.0.1',
  metricsPort: undefined,
  metricsHost: '127.0.0.1',
  upstreamBase: undefined,
  redisUrl: undefined,
  redisClusterNodes: undefined,
  fleetQuorum: 2,
  redisCommandTimeoutMs: 50,
  upstream: { timeoutMs: 2_000, deadlineMs: 5_000, retries: 2, connections: 64, batch: false },
  breaker: { failureThreshold: 3, windowMs: 30_000, resetTimeoutMs: 5_000 },
  cacheTtlMs: 30_000,
  listCacheTtlMs: 2_000,
  aggregatorConcurrency: 50,
  pageMaxLimit: 200,
  logLevel: 'info',
  bodyLimitBytes: 16_384,
  shutdownTimeoutMs: 10_000,
})

/**
 * Reads and validates the configuration from environment variables. Every variable is optional;
 * an empty string counts as unset. All problems are collected and thrown together.
 *
 * @throws {ConfigError} listing each invalid variable with the value it got.
 * @example
 * ```ts
 * const config = loadConfig(process.env) // PORT=abc -> ConfigError: PORT must be an integer ...
 * ```
 */
export function loadConfig(env: Record<string, string | undefined>): ServiceConfig {
  const problems: string[] = []
  const read = new EnvReader(env, problems)
  const d = DEFAULT_CONFIG

  const config: ServiceConfig = {
    port: read.int('PORT', d.port, 0, 65_535),
    host: read.string('HOST', d.host),
    metricsPort: read.optionalInt('METRICS_PORT', 0, 65_535),
    metricsHost: read.string('METRICS_HOST', d.metricsHost),
    upstreamBase: read.url('UPSTREAM_BASE'),
    redisUrl: read.redisUrl('REDIS_URL'),
    redisClusterNodes: read.redisNodes('REDIS_CLUSTER_NODES'),
    fleetQuorum: read.int('FLEET_QUORUM', d.fleetQuorum, 1, 1_000),
    redisCommandTimeoutMs: read.int('REDIS_COMMAND_TIMEOUT_MS', d.redisCommandTimeoutMs, 1, 60_000),
    upstream: {
      timeoutMs: read.int('UPSTREAM_TIMEOUT_MS', d.upstream.timeoutMs, 1, 600_000),
      deadlineMs: read.int('UPSTREAM_DEADLINE_MS', d.upstream.deadlineMs, 1, 600_000),
      retries: read.int('UPSTREAM_RETRIES', d.upstream.retries, 0, 10),
      connections: read.int('UPSTREAM_CONNECTIONS', d.upstream.connections, 1, 10_000),
      batch: read.bool('UPSTREAM_BATCH', d.upstream.batch),
    },
    breaker: {
      failureThreshold: read.int('BREAKER_FAILURE_THRESHOLD', d.breaker.failureThreshold, 1, 1_000),
      windowMs: read.int('BREAKER_WINDOW_MS', d.breaker.windowMs, 1, 3_600_000),
      resetTimeoutMs: read.int('BREAKER_RESET_TIMEOUT_MS', d.breaker.resetTimeoutMs, 1, 3_600_000),
    },
    cacheTtlMs: read.int('CACHE_TTL_MS', d.cacheTtlMs, 0, 86_400_000),
    listCacheTtlMs: read.int('LIST_CACHE_TTL_MS', d.listCacheTtlMs, 0, 86_400_000),
    aggregatorConcurrency: read.int('AGGREGATOR_CONCURRENCY', d.aggregatorConcurrency, 1, 1_000),
    pageMaxLimit: read.int('PAGE_MAX_LIMIT', d.pageMaxLimit, 1, 1_000),
    logLevel: read.oneOf('LOG_LEVEL', d.logLevel, LOG_LEVELS),
    bodyLimitBytes: read.int('BODY_LIMIT_BYTES', d.bodyLimitBytes, 256, 10_485_760),
    shutdownTimeoutMs: read.int('SHUTDOWN_TIMEOUT_MS', d.shutdownTimeoutMs, 1, 600_000),
  }

  // Only compared when both parsed: a fallback value would make this message misleading.
  if (problems.length === 0 && config.upstream.deadlineMs < config.upstream.timeoutMs) {
    problems.push(
      `UPSTREAM_DEADLINE_MS (${config.upstream.deadlineMs}) must be >= UPSTREAM_TIMEOUT_MS (${config.upstream.timeoutMs})`,
    )
  }
  if (config.redisUrl !== undefined && config.redisClusterNodes !== undefined) {
    problems.push(
      'REDIS_URL and REDIS_CLUSTER_NODES are both set: set REDIS_URL for one Redis server or REDIS_CLUSTER_NODES for a Redis Cluster, not both',
    )
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return config
}

/** Private: parses one variable at a time and records problems instead of throwing. */
class EnvReader {
  constructor(
    private readonly env: Record<string, string | undefined>,
    private readonly problems: string[],
  ) {}

  private raw(name: string): string | undefined {
    const value = this.env[name]
    return value === undefined || value.trim() === '' ? undefined : value.trim()
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const raw = this.raw(name)
    if (raw === undefined) return fallback
    const value = /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      this.problems.push(`${name} must be an integer from ${min} to ${max}, got ${quote(raw)}`)
      return fallback
    }
    return value
  }

  /** An integer in range, or `undefined` when the variable is unset (or invalid: then recorded). */
  optionalInt(name: string, min: number, max: number): number | undefined {
    if (this.raw(name) === undefined) return undefined
    const value = this.int(name, Number.NaN, min, max)
    return Number.isNaN(value) ? undefined : value
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.raw(name)
    if (raw === undefined) return fallback
    if (/^(1|true|yes|on)$/i.test(raw)) return true
    if (/^(0|false|no|off)$/i.test(raw)) return false
    this.problems.push(`${name} must be one of true, false, 1, 0, got ${quote(raw)}`)
    return fallback
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const raw = this.raw(name)
    if (raw === undefined) return fallback
    if ((allowed as readonly string[]).includes(raw)) return raw as T
    this.problems.push(`${name} must be one of ${allowed.join(', ')}, got ${quote(raw)}`)
    return fallback
  }

  redisUrl(name: string): string | undefined {
    const raw = this.raw(name)
    if (raw === undefined) return undefined
    if (!/^rediss?:\/\/[^\s]+$/.test(raw)) {
      this.problems.push(`${name} must be a redis:// or rediss:// URL, got ${quote(raw)}`)
      return undefined
    }
    return raw
  }

  /** Comma-separated `host:port` or redis:// / rediss:// URLs; passwords are not quoted back. */
  redisNodes(name: string): string[] | undefined {
    const raw = this.raw(name)
    if (raw === undefined) return undefined
    const nodes = raw.split(',').map((entry) => entry.trim())
    const bad = nodes.find(
      (entry) => !/^(rediss?:\/\/\S+|[^\s:/,@]+:\d{1,5}|\[[0-9a-fA-F:.]+\]:\d{1,5})$/.test(entry),
    )
    if (bad !== undefined) {
      this.problems.push(
        `${name} must be comma-separated host:port or redis:// / rediss:// URLs, got ${quote(redact(bad))}`,
      )
      return undefined
    }
    return nodes
  }

  url(name: string): string | undefined {
    const raw = this.raw(name)
    if (raw === undefined) return undefined
    let parsed: URL | undefined
    try {
      parsed = new URL(raw)
    } catch {
      parsed = undefined
    }
    if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
      this.problems.push(`${name} must be an http:// or https:// URL, got ${quote(raw)}`)
      return undefined
    }
    // A trailing slash would double up with the client's absolute paths.
    return raw.replace(/\/+$/, '')
  }
}

/** Private: JSON quoting shows empty strings and stray whitespace unambiguously. */
/** A node address with its password replaced, for error messages. */
function redact(value: string): string {
  return value.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')
}

function quote(value: string): string {
  return JSON.stringify(value)
}
