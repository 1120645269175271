import { fileURLToPath } from 'node:url'
import type { TestProjectConfiguration } from 'vitest/config'

/**
 * The test projects of the monorepo, one per package. Vitest 4 no longer reads this file on its
 * own: `vitest.config.ts` imports it as `test.projects`, so `vitest run --project <name>` works.
 *
 * Type tests (`test/*.test-d.ts`) are not run here: each package's `tsc --noEmit` (`pnpm typecheck`)
 * compiles them, and an `expectTypeOf` mismatch fails that compile.
 *
 * Workspace packages resolve to their TypeScript sources, so tests never run against a stale
 * `dist/`. Only the packaging tests (CommonJS `require()`, packed tarballs) read `dist/` on purpose.
 */
const sourceOf = (pkg: string) =>
  fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url))

const alias = {
  '@userevents/upstream-client': sourceOf('upstream-client'),
  '@userevents/mock-server': sourceOf('mock-server'),
  '@userevents/event-aggregator': sourceOf('event-aggregator'),
  '@userevents/redis': sourceOf('redis'),
  '@userevents/fastify': sourceOf('fastify'),
  '@userevents/check-kit': sourceOf('check-kit'),
}

const project = (name: string, root: string): TestProjectConfiguration => ({
  resolve: { alias },
  test: {
    name,
    root,
    include: ['test/**/*.test.ts'],
    testTimeout: 15_000,
    hookTimeout: 15_000,
  },
})

export default [
  project('check-kit', './packages/check-kit'),
  project('upstream-client', './packages/upstream-client'),
  project('mock-server', './packages/mock-server'),
  project('event-aggregator', './packages/event-aggregator'),
  project('redis', './packages/redis'),
  project('fastify', './packages/fastify'),
  project('event-service', './examples/event-service'),
] satisfies TestProjectConfiguration[]
