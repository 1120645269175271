import { describe, expect, it } from 'vitest'
import { DEFAULT_CONFIG, loadConfig } from '../src/config.js'
import { ConfigError, isConfigError } from '../src/errors/ConfigError.js'

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env)
  } catch (err) {
    expect(isConfigError(err)).toBe(true)
    return (err as ConfigError).problems
  }
  throw new Error('expected loadConfig to throw')
}

describe('loadConfig', () => {
  it('uses the defaults when nothing is set, and treats empty strings as unset', () => {
    expect(loadConfig({})).toEqual(DEFAULT_CONFIG)
    expect(loadConfig({ PORT: '', UPSTREAM_BASE: '  ' })).toEqual(DEFAULT_CONFIG)
    expect(loadConfig({}).upstreamBase).toBeUndefined()
  })

  it('reads every variable', () => {
    const config = loadConfig({
      PORT: '8080',
      HOST: '0.0.0.0',
      METRICS_PORT: '9464',
      METRICS_HOST: '10.0.0.5',
      UPSTREAM_BASE: 'http://event.example:4000/api/',
      UPSTREAM_TIMEOUT_MS: '900',
      UPSTREAM_DEADLINE_MS: '3000',
      UPSTREAM_RETRIES: '0',
      UPSTREAM_CONNECTIONS: '16',
      UPSTREAM_BATCH: 'true',
      BREAKER_FAILURE_THRESHOLD: '5',
      BREAKER_WINDOW_MS: '10000',
      BREAKER_RESET_TIMEOUT_MS: '2000',
      CACHE_TTL_MS: '0',
      LIST_CACHE_TTL_MS: '500',
      AGGREGATOR_CONCURRENCY: '20',
      PAGE_MAX_LIMIT: '100',
      LOG_LEVEL: 'debug',
      BODY_LIMIT_BYTES: '1024',
      SHUTDOWN_TIMEOUT_MS: '500',
      FLEET_QUORUM: '3',
      REDIS_COMMAND_TIMEOUT_MS: '200',
    })
    expect(config).toEqual({
      port: 8080,
      host: '0.0.0.0',
      metricsPort: 9464,
      metricsHost: '10.0.0.5',
      upstreamBase: 'http://event.example:4000/api',
      upstream: { timeoutMs: 900, deadlineMs: 3000, retries: 0, connections: 16, batch: true },
      breaker: { failureThreshold: 5, windowMs: 10000, resetTimeoutMs: 2000 },
      cacheTtlMs: 0,
      listCacheTtlMs: 500,
      aggregatorConcurrency: 20,
      pageMaxLimit: 100,
      logLevel: 'debug',
      bodyLimitBytes: 1024,
      shutdownTimeoutMs: 500,
      fleetQuorum: 3,
      redisCommandTimeoutMs: 200,
    })
  })

  it('rejects bad values with a message naming the variable and quoting the value', () => {
    expect(problemsOf({ PORT: 'abc' })).toEqual([
      'PORT must be an integer from 0 to 65535, got "abc"',
    ])
    expect(problemsOf({ FLEET_QUORUM: '0' })).toEqual([
      'FLEET_QUORUM must be an integer from 1 to 1000, got "0"',
    ])
    expect(problemsOf({ METRICS_PORT: 'x' })).toEqual([
      'METRICS_PORT must be an integer from 0 to 65535, got "x"',
    ])
    expect(problemsOf({ PORT: '70000' })).toEqual([
      'PORT must be an integer from 0 to 65535, got "70000"',
    ])
    expect(problemsOf({ UPSTREAM_TIMEOUT_MS: '1.5' })).toEqual([
      'UPSTREAM_TIMEOUT_MS must be an integer from 1 to 600000, got "1.5"',
    ])
    expect(problemsOf({ UPSTREAM_BASE: 'event.com' })).toEqual([
      'UPSTREAM_BASE must be an http:// or https:// URL, got "event.com"',
    ])
    expect(problemsOf({ UPSTREAM_BASE: 'ftp://event.com' })).toEqual([
      'UPSTREAM_BASE must be an http:// or https:// URL, got "ftp://event.com"',
    ])
    expect(problemsOf({ LOG_LEVEL: 'verbose' })).toEqual([
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"',
    ])
    expect(problemsOf({ UPSTREAM_BATCH: 'maybe' })).toEqual([
      'UPSTREAM_BATCH must be one of true, false, 1, 0, got "maybe"',
    ])
    expect(problemsOf({ BREAKER_FAILURE_THRESHOLD: '0' })).toEqual([
      'BREAKER_FAILURE_THRESHOLD must be an integer from 1 to 1000, got "0"',
    ])
  })

  it('reads REDIS_CLUSTER_NODES (host:port or redis:// URLs); REDIS_URL with it is an error', () => {
    expect(
      loadConfig({
        REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis://u:p@10.0.0.2:7001,rediss://10.0.0.3:7002',
      }).redisClusterNodes,
    ).toEqual(['10.0.0.1:7000', 'redis://u:p@10.0.0.2:7001', 'rediss://10.0.0.3:7002'])
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' }).redisClusterNodes).toBeUndefined()
    expect(problemsOf({ REDIS_CLUSTER_NODES: '10.0.0.1:7000,http://u:secret@x:1' })).toEqual([
      'REDIS_CLUSTER_NODES must be comma-separated host:port or redis:// / rediss:// URLs, got "http://u:***@x:1"',
    ])
    expect(problemsOf({ REDIS_CLUSTER_NODES: '10.0.0.1' })).toEqual([
      'REDIS_CLUSTER_NODES must be comma-separated host:port or redis:// / rediss:// URLs, got "10.0.0.1"',
    ])
    expect(
      problemsOf({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_CLUSTER_NODES: '127.0.0.1:7000' }),
    ).toEqual([
      'REDIS_URL and REDIS_CLUSTER_NODES are both set: set REDIS_URL for one Redis server or REDIS_CLUSTER_NODES for a Redis Cluster, not both',
    ])
  })

  it('reports every bad variable at once', () => {
    const problems = problemsOf({ PORT: '-1', CACHE_TTL_MS: 'soon', LOG_LEVEL: 'loud' })
    expect(problems).toHaveLength(3)
    expect(problems.map((p) => p.split(' ')[0])).toEqual(['PORT', 'CACHE_TTL_MS', 'LOG_LEVEL'])
  })

  it('checks that the deadline is not shorter than one attempt', () => {
    expect(problemsOf({ UPSTREAM_TIMEOUT_MS: '3000', UPSTREAM_DEADLINE_MS: '1000' })).toEqual([
      'UPSTREAM_DEADLINE_MS (1000) must be >= UPSTREAM_TIMEOUT_MS (3000)',
    ])
  })

  it('throws a ConfigError whose message lists the problems', () => {
    expect(() => loadConfig({ PORT: 'x' })).toThrow(ConfigError)
    expect(() => loadConfig({ PORT: 'x' })).toThrow(
      'Invalid configuration:\n  - PORT must be an integer from 0 to 65535, got "x"',
    )
  })
})
