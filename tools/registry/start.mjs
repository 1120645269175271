#!/usr/bin/env node
// Starts Verdaccio from a configuration file on 127.0.0.1 with a port chosen by the OS, and prints
// one line of JSON, `{"url":"http://127.0.0.1:<port>/"}`, once it accepts connections. It runs
// until it is killed: `scripts/check-publish.mjs` starts it as a child process and stops it by pid.
// Usage: node tools/registry/start.mjs <config.yaml>
import { resolve } from 'node:path'
import { runServer } from 'verdaccio'

const configPath = process.argv[2]
if (!configPath) {
  console.error('usage: node tools/registry/start.mjs <config.yaml>')
  process.exit(2)
}
const server = await runServer(resolve(configPath))
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address()
  console.log(JSON.stringify({ url: `http://127.0.0.1:${port}/` }))
})
