import type { RedisClient } from './clients.js'

/**
 * @internal The channels listened to on the subscriber client: subscribed once per channel,
 * with any number of listeners each, and subscribed again on every `ready` of the subscriber
 * (SUBSCRIBE is idempotent: a channel already subscribed is simply confirmed).
 */
export class Subscriptions {
  readonly #channels = new Map<string, Set<(message: string) => void>>()
  readonly #subscriber: RedisClient
  readonly #onError: (error: Error) => void

  constructor(subscriber: RedisClient, onError: (error: Error) => void) {
    this.#subscriber = subscriber
    this.#onError = onError
    subscriber.on('ready', () => {
      for (const channel of this.#channels.keys()) subscriber.subscribe(channel).catch(onError)
    })
    subscriber.on('message', (channel: string, message: string) => {
      for (const listener of this.#channels.get(channel) ?? []) listener(message)
    })
  }

  /** Adds a listener to `channel`; returns the function that removes it. */
  add(channel: string, listener: (message: string) => void): () => void {
    let listeners = this.#channels.get(channel)
    if (listeners === undefined) {
      listeners = new Set()
      this.#channels.set(channel, listeners)
      this.#subscriber.subscribe(channel).catch(this.#onError)
    }
    listeners.add(listener)
    const own = listeners
    return () => {
      own.delete(listener)
      if (own.size === 0 && this.#channels.get(channel) === own) {
        this.#channels.delete(channel)
        this.#subscriber.unsubscribe(channel).catch(this.#onError)
      }
    }
  }
}
