import { Ajv } from 'ajv'
import { UpstreamShapeError } from './errors/UpstreamShapeError.js'

// Its own instance: upstream bodies are checked as they are, never coerced or given defaults.
const ajv = new Ajv({ allErrors: false, strict: false })

/**
 * Compiles a check of an upstream body against the route's own response schema, for the routes
 * that pass upstream data through. A mismatch throws {@link UpstreamShapeError} (502) before the
 * serializer would throw on it (500).
 *
 * @example
 * const checkUsers = compileUpstreamCheck<User[]>(userListResponses[200], '/getUsers')
 * return checkUsers(await client.get('/getUsers'))
 */
export function compileUpstreamCheck<T>(schema: object, path: string): (data: unknown) => T {
  const validate = ajv.compile(schema)
  // The client's GET cache hands out the same object until it expires: checked once is enough,
  // instead of walking the whole list again on every request served from the cache.
  const checked = new WeakSet<object>()
  return (data) => {
    if (typeof data === 'object' && data !== null && checked.has(data)) return data as T
    if (validate(data)) {
      if (typeof data === 'object' && data !== null) checked.add(data)
      return data as T
    }
    const first = validate.errors?.[0]
    throw new UpstreamShapeError(path, `${first?.instancePath || 'body'} ${first?.message ?? ''}`)
  }
}
