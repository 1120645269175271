#!/usr/bin/env node
// A committed shim, so package managers can link the bin before `dist/` is built (in the
// workspace) and the bin keeps one stable path; the CLI itself is built to dist/cli/seed.js.
import '../dist/cli/seed.js'
