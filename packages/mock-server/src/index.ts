export type { MockClock } from './clock.js'
export { ROUTE_NAMES } from './counters.js'
export type { GenerateDataSetOptions, GenerateUserOptions } from './data.js'
export { generateDataSet, generateUserWithEvents, seedData } from './data.js'
export {
  InvalidMockDataError,
  InvalidMockOptionError,
} from './errors/InvalidMockOptionError.js'
export type { MockServerErrorCode } from './errors/MockServerError.js'
export { isMockServerError, MockServerError } from './errors/MockServerError.js'
export { MAX_BATCH_IDS } from './handlers.js'
export type { ListenOptions, MockServerHandle } from './listen.js'
export type { MockUpstream } from './mock.js'
export { createMockUpstream } from './mock.js'
export type { MockDelays, MockUpstreamOptions } from './options.js'
export { MOCK_MODES } from './options.js'
export type { MockStore } from './store.js'
export type { Event, MockData, MockMode, RouteName, User } from './types.js'
