#!/usr/bin/env node
// The new user's trial of issue 23, repeated from nothing: the packed tarballs in a fresh folder
// outside the workspace, plain npm, strict `nodenext` TypeScript.
//   1. every README `ts` block compiles with only the tarballs and that README's install lines
//      (the check:readmes work, lib/readmes.mjs);
//   2. a service written from the READMEs (scripts/newcomer/trial.ts, installed with the fastify
//      README's and the client README's OpenTelemetry install lines) is compiled and run:
//      a client created before `sdk.start()` is traced (spans, `traceparent`) and metered;
//      `GET /users/%` answers problem+json when the plugin's format is; the upstream's 404 text
//      does not reach the caller; a closed client (also `app.upstream` after `app.close()`)
//      maps to 500; a typo'd plugin option (`errorHandle`) is rejected at `register`.
// Run after `pnpm build` (`pnpm check:newcomer`; `pnpm test` runs it). Prints ok/FAIL per line.
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bin, consumerTsconfig, installConsumer, packAll, root, run } from './lib/consumer.mjs'
import { checkReadmes } from './lib/readmes.mjs'

const work = mkdtempSync(join(tmpdir(), 'userevents-newcomer-'))
let failed = false
const check = (ok, line, detail) => {
  if (!ok) failed = true
  console[ok ? 'log' : 'error'](`${ok ? 'ok  ' : 'FAIL'} ${line}${ok ? '' : `: ${detail}`}`)
}
try {
  const tarballs = packAll(work)
  const readmes = checkReadmes(work, tarballs)
  check(!readmes.failed, `${readmes.checked} README blocks compile with only their install lines`)

  const dir = join(work, 'trial')
  // The fastify README's install line, and the client README's OpenTelemetry one.
  installConsumer(dir, tarballs, [
    '@userevents/fastify',
    '@userevents/upstream-client',
    '@userevents/event-aggregator',
    '@userevents/mock-server',
    'fastify',
    '@opentelemetry/api',
    '@opentelemetry/sdk-node',
  ])
  copyFileSync(join(root, 'scripts', 'newcomer', 'trial.ts'), join(dir, 'trial.ts'))
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify(consumerTsconfig(['trial.ts'], { outDir: 'out' })),
  )
  run(bin('tsc'), ['-p', dir], dir)
  // No exporter of the environment's: the trial reads its in-memory exporters only.
  const env = { ...process.env, OTEL_LOGS_EXPORTER: 'none', OTEL_SDK_DISABLED: 'false' }
  const out = run(process.execPath, ['out/trial.js'], dir, env)
  const f = JSON.parse(out.trim().split('\n').at(-1))
  check(
    // The span id in the early client's traceparent is that of a span the SDK exported.
    /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/.test(f.traceparent ?? '') &&
      f.spans.some((s) => s.endsWith(` ${f.traceparent.split('-')[2]}`)),
    'a client created before sdk.start() is traced and sends traceparent',
    JSON.stringify({ spans: f.spans, traceparent: f.traceparent }),
  )
  check(
    f.metrics.includes('http.client.request.duration'),
    'and metered (http.client.request.duration)',
    JSON.stringify(f.metrics),
  )
  check(
    f.badUrl.status === 400 && f.badUrl.type.startsWith('application/problem+json'),
    'GET /users/% answers problem+json, the format set once in the plugin',
    JSON.stringify(f.badUrl),
  )
  check(
    f.notFound.status === 404 && !f.notFound.body.includes('not found'),
    "GET /users/999 answers 404 without the upstream's text",
    JSON.stringify(f.notFound),
  )
  check(
    f.closed.status === 500 && f.afterCloseStatus === 500,
    'a closed client (and app.upstream after app.close()) maps to 500',
    JSON.stringify({ closed: f.closed, afterClose: f.afterCloseStatus }),
  )
  check(
    f.typo !== 'accepted' && /errorHandle/.test(f.typo),
    'a typo’d plugin option (errorHandle) is rejected at register',
    `${f.typo} (unknown-key rejection of the plugin is built on the check-kit branch)`,
  )
} catch (error) {
  failed = true
  console.error(`FAIL ${error.message}\n${error.stdout ?? ''}${error.stderr ?? ''}`)
} finally {
  rmSync(work, { recursive: true, force: true })
}
process.exit(failed ? 1 : 0)
