#!/usr/bin/env node
import { runSeedCli } from './seed-cli.js'

// The bin: the first SIGINT/SIGTERM stops posting new events (pending ones count as failed and
// the summary is still printed); the exit code says whether every event was added.
const controller = new AbortController()
process.once('SIGINT', () => controller.abort())
process.once('SIGTERM', () => controller.abort())
process.exitCode = await runSeedCli(process.argv.slice(2), process, { signal: controller.signal })
