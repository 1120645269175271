import { defineConfig } from 'tsup'

/**
 * The service's own build, part of the root `pnpm build`: `pnpm start` and `pnpm demo` run the
 * built JavaScript under plain `node` (no tsx in the process that receives the signals). The
 * workspace packages stay external and resolve to their own `dist/` through node_modules.
 */
export default defineConfig({
  // telemetry.js and service.js too: the benchmarks' bare Fastify app loads the service's exact
  // SDK setup from it, and `bench:variants` builds the service as main.js does, piece by piece.
  entry: ['src/main.ts', 'src/demo.ts', 'src/telemetry.ts', 'src/service.ts', 'src/config.ts'],
  format: ['esm'],
  target: 'node20',
  dts: false,
  sourcemap: true,
  clean: true,
  tsconfig: 'tsconfig.build.json',
})
