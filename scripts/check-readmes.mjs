#!/usr/bin/env node
// Typechecks every ```ts block of every published package's README as a new user would meet it:
// in a consumer folder OUTSIDE the workspace that holds only the packed tarballs and the packages
// that README's `npm install` lines name, installed with plain npm (the registry for everything
// but our tarballs). Each block is its own module (it must bring its own imports and `declare
// const` its placeholders), compiled under strict `nodenext` against the installed types.
// Besides, every package a block imports must be named by an install line of the same README:
// a package that only happens to be there (a dependency of another, hoisted by npm) fails too.
// So a missing install line fails the check. Run after `pnpm build`. Failures name the README
// and its line. Folders are shared between READMEs with the same install set.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { packAll } from './lib/consumer.mjs'
import { checkReadmes } from './lib/readmes.mjs'

const work = mkdtempSync(join(tmpdir(), 'userevents-readmes-'))
let result = { failed: true, checked: 0 }
try {
  result = checkReadmes(work, packAll(work))
} catch (error) {
  console.error(`FAIL ${error.message}\n${error.stdout ?? ''}${error.stderr ?? ''}`)
} finally {
  rmSync(work, { recursive: true, force: true })
}
console.log(`${result.failed ? 'FAIL' : 'ok  '} ${result.checked} README code blocks checked`)
process.exit(result.failed ? 1 : 0)
