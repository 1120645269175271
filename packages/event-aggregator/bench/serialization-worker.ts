/**
 * Child process of the serialization benchmark: measures one page size and shape in a fresh
 * V8 and prints the results as JSON. Usage: `tsx bench/serialization-worker.ts 500 'all fields'`.
 */
import { createPageSerializer, serializerEngine } from '../src/index.js'
import { measureShape, SHAPES } from './serialization.js'

const [size, shape] = process.argv.slice(2)
const results = measureShape(
  (fields) => createPageSerializer(fields) as never,
  Number(size),
  shape!,
)
const shippedEngine = serializerEngine(SHAPES.find((s) => s.name === shape)?.fields)
process.stdout.write(JSON.stringify(results.map((r) => ({ ...r, shippedEngine }))))
