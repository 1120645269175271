/** The operation key shared by every operation beyond a client's `maxOperations`. */
export const OTHER_OPERATION = '(other)'

/**
 * @internal A map from operation key to per-operation state (a breaker, a retry-budget window,
 * an adaptive limit), bounded: operation keys come from callers, so at most `maxOperations` get
 * an entry of their own and every later key shares the entry {@link OTHER_OPERATION}, created
 * on first need. `onOverflow`, if given, is called once, with the first key that overflowed, so
 * the owner can warn. Entries are never evicted: an evicted open breaker would let a failing
 * operation straight back in, and keys are expected to be few (routes, not ids).
 */
export class OperationMap<T> {
  readonly #entries = new Map<string, T>()
  readonly #create: (operation: string) => T
  readonly #maxOperations: number
  readonly #onOverflow: ((operation: string) => void) | undefined
  #other: T | undefined

  constructor(
    maxOperations: number,
    create: (operation: string) => T,
    onOverflow?: (operation: string) => void,
  ) {
    this.#maxOperations = maxOperations
    this.#create = create
    this.#onOverflow = onOverflow
  }

  /** The entry of `operation`, created on first use; the `(other)` entry past the bound. */
  get(operation: string): T {
    const existing = this.#entries.get(operation)
    if (existing !== undefined) return existing
    if (this.#entries.size < this.#maxOperations) {
      const created = this.#create(operation)
      this.#entries.set(operation, created)
      return created
    }
    if (this.#other === undefined) {
      this.#other = this.#create(OTHER_OPERATION)
      this.#onOverflow?.(operation)
    }
    return this.#other
  }

  /** The entry of `operation` if it has one (the `(other)` entry under its own key), else undefined. */
  peek(operation: string): T | undefined {
    return operation === OTHER_OPERATION && !this.#entries.has(operation)
      ? this.#other
      : this.#entries.get(operation)
  }

  /** Every entry with its key, the operations' own first, `(other)` last. */
  *entries(): IterableIterator<[string, T]> {
    yield* this.#entries
    if (this.#other !== undefined) yield [OTHER_OPERATION, this.#other]
  }

  /** Every entry, the operations' own first, `(other)` last. */
  *values(): IterableIterator<T> {
    yield* this.#entries.values()
    if (this.#other !== undefined) yield this.#other
  }
}
