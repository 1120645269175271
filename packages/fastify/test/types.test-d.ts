import type { EventAggregator, EventField } from '@userevents/event-aggregator'
import type { UpstreamClient } from '@userevents/upstream-client'
import Fastify from 'fastify'
import { expectTypeOf } from 'vitest'
import {
  type JsonErrorBody,
  type ProblemDetailsBody,
  parsePageQuery,
  toHttpProblem,
  type UpstreamCallContext,
} from '../src/index.js'

const app = Fastify()
expectTypeOf(app.upstream).toEqualTypeOf<UpstreamClient>()
expectTypeOf(app.eventAggregator).toEqualTypeOf<EventAggregator>()
app.get('/x', async (_request, reply) => {
  expectTypeOf(reply.upstreamContext()).toEqualTypeOf<UpstreamCallContext>()
})
expectTypeOf(parsePageQuery({}).fields).toEqualTypeOf<readonly EventField[] | undefined>()
expectTypeOf(toHttpProblem(1).body).toEqualTypeOf<JsonErrorBody>()
expectTypeOf(toHttpProblem(1, { format: 'problem+json' }).body).toEqualTypeOf<ProblemDetailsBody>()
