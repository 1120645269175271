/**
 * @internal Body-limit and JSON policy: collects response chunks up to a byte limit while they
 * stream in, so an endless body is cut off at the limit instead of being buffered.
 */
export class BodyCollector {
  #chunks: Buffer[] = []
  bytes = 0

  /** Adds a chunk; returns false (and keeps nothing more) once the limit is exceeded. */
  push(chunk: Buffer, limit: number): boolean {
    this.bytes += chunk.length
    if (this.bytes > limit) {
      this.#chunks = []
      return false
    }
    this.#chunks.push(chunk)
    return true
  }

  /** The collected body as UTF-8 text. */
  text(): string {
    const chunks = this.#chunks
    // One chunk is the common case for small JSON bodies; skipping concat saves a copy.
    if (chunks.length === 1) return (chunks[0] as Buffer).toString('utf8')
    if (chunks.length === 0) return ''
    return Buffer.concat(chunks, this.bytes).toString('utf8')
  }
}

/** @internal Statuses that never carry a body. */
export function isBodyless(status: number): boolean {
  return status === 204 || status === 205 || status === 304
}

/**
 * @internal Parses an error response body for `UpstreamHttpError.body`: JSON when it parses,
 * otherwise the text (truncated), undefined when empty.
 */
export function parseErrorBody(text: string): unknown {
  if (text === '') return undefined
  try {
    return JSON.parse(text)
  } catch {
    return text.length > 1024 ? `${text.slice(0, 1024)}...` : text
  }
}
