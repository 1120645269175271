/**
 * Helpers of the chaos suite: child processes, HTTP requests that record everything about their
 * answer, raw socket exchanges, and small statistics. Private to `scripts/chaos`.
 */
import { spawn } from 'node:child_process'
import http from 'node:http'
import net from 'node:net'

/** Starts `command args` and resolves once `ready(line)` returns a value for a stdout line. */
export function startProcess(
  command,
  args,
  { env, cwd, detached = false, ready, timeoutMs = 30_000 },
) {
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached,
  })
  const out = {
    stdoutBytes: 0,
    stdoutLines: [],
    stderr: '',
    onStdoutLine: undefined,
    onStderrLine: undefined,
  }
  let pending = ''
  let pendingErr = ''
  const exited = new Promise((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  )
  // 'close': every process that inherited the pipes (a wrapper's children too) has let go of them.
  const closed = new Promise((resolve) => child.stdout.on('close', resolve))
  const started = new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(`${command} ${args.join(' ')} not ready after ${timeoutMs} ms:\n${out.stderr}`),
        ),
      timeoutMs,
    )
    exited.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(new Error(`${command} exited (${code ?? signal}) before it was ready:\n${out.stderr}`))
    })
    child.stdout.on('data', (chunk) => {
      out.stdoutBytes += chunk.length
      pending += chunk
      let nl = pending.indexOf('\n')
      while (nl !== -1) {
        const line = pending.slice(0, nl)
        pending = pending.slice(nl + 1)
        out.onStdoutLine?.(line)
        const value = ready(line)
        if (value !== undefined) {
          clearTimeout(timer)
          resolve(value)
        }
        nl = pending.indexOf('\n')
      }
    })
  })
  child.stderr.on('data', (chunk) => {
    out.stderr += chunk
    if (out.stderr.length > 1_000_000) out.stderr = out.stderr.slice(-500_000)
    pendingErr += chunk
    let nl = pendingErr.indexOf('\n')
    while (nl !== -1) {
      out.onStderrLine?.(pendingErr.slice(0, nl))
      pendingErr = pendingErr.slice(nl + 1)
      nl = pendingErr.indexOf('\n')
    }
  })
  return { child, out, started, exited, closed }
}

/**
 * Sends one HTTP request and records `{ status, headers, body, ms }`, or `{ error, ms }` when the
 * connection failed, or `{ hang: true }` after `timeoutMs` without a complete answer.
 */
export function send(agent, base, { method = 'GET', path, headers = {}, body }, timeoutMs = 5_000) {
  const url = new URL(base)
  const started = performance.now()
  return new Promise((resolve) => {
    let settled = false
    const done = (result) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve({ ...result, ms: performance.now() - started })
    }
    let req
    try {
      req = http.request({
        agent,
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers: body === undefined ? headers : { ...headers, 'content-length': body.length },
      })
    } catch (error) {
      done({ error: `client refused to send: ${error.code ?? error.message}` })
      return
    }
    const timer = setTimeout(() => {
      done({ hang: true })
      req.destroy()
    }, timeoutMs)
    req.on('response', (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () =>
        done({
          status: res.statusCode,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      )
      res.on('error', (error) => done({ error: error.code ?? error.message }))
    })
    req.on('error', (error) => done({ error: error.code ?? error.message }))
    req.end(body)
  })
}

/**
 * Writes `bytes` to a fresh socket, half-closes it, and resolves with the status of the first
 * answer line (`status`), or `closed: true` when the server closed without one, and the time that
 * took. `hang: true` when neither happened within `timeoutMs`.
 */
export function sendRaw(port, bytes, timeoutMs = 1_000) {
  const started = performance.now()
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    let head = ''
    let settled = false
    const done = (result) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resolve({ ...result, ms: performance.now() - started })
    }
    const timer = setTimeout(() => done({ hang: true }), timeoutMs)
    socket.on('connect', () => socket.end(bytes))
    socket.on('data', (chunk) => {
      head += chunk.toString('latin1')
      const line = head.split('\r\n')[0]
      if (head.includes('\r\n')) {
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(line)
        done(m ? { status: Number(m[1]), line, head } : { line, head, badAnswer: true })
      }
    })
    socket.on('error', () => done({ closed: true }))
    socket.on('close', () =>
      done(head ? { line: head.slice(0, 80), badAnswer: true } : { closed: true }),
    )
  })
}

/** Runs `worker(item)` over `items` with at most `concurrency` at a time. */
export async function pool(items, concurrency, worker) {
  const results = new Array(items.length)
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++
        results[i] = await worker(items[i], i)
      }
    }),
  )
  return results
}

/** A free TCP port on 127.0.0.1 (bound and released at once). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

/** Resolves after `ms`. */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** The `q`-quantile of `values` (nearest rank). */
export function quantile(values, q) {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]
}

/** Mean of `values`. */
export const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length
