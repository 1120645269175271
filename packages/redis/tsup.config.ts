import { defineConfig } from 'tsup'

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  target: 'node20',
  dts: true,
  sourcemap: true,
  clean: true,
  tsconfig: 'tsconfig.build.json',
  // The private validation kit is bundled, never a runtime dependency (packages/check-kit).
  noExternal: ['@userevents/check-kit'],
})
