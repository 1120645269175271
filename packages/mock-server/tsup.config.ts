import { defineConfig } from 'tsup'

export default defineConfig({
  // The bins keep the `#!/usr/bin/env node` of their sources; esbuild preserves an entry's hashbang.
  entry: {
    index: 'src/index.ts',
    'cli/mock': 'src/cli/mock.ts',
    'cli/seed': 'src/cli/seed.ts',
  },
  format: ['esm'],
  target: 'node20',
  dts: { entry: { index: 'src/index.ts' } },
  sourcemap: true,
  clean: true,
  tsconfig: 'tsconfig.build.json',
  // The private validation kit is bundled, never a runtime dependency (packages/check-kit).
  noExternal: ['@userevents/check-kit'],
})
