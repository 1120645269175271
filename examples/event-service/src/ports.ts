/** The toolkit's data types, as the routes use them. */
export type { Event, User } from '@userevents/event-aggregator'
