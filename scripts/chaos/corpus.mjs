/**
 * The chaos suite's corpus of bad requests, generated from a seed so a failure can be replayed:
 * wrong types, missing and unknown fields, huge and deeply nested bodies, bad encodings, path and
 * query abuse, header abuse (sent as ordinary HTTP requests), and raw malformed HTTP (bytes written
 * to a `node:net` socket). Every request is one the service must refuse with a 4xx.
 */

/** mulberry32: a tiny seeded PRNG; the suite needs replayable choices, not good randomness. */
export function prng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const JSON_TYPE = 'application/json'

/**
 * Builds the corpus. `http` entries are `{ kind, method, path, headers, body }` (body a Buffer or
 * undefined); `raw` entries are `{ kind, bytes }`. Each carries a short `label` for the report.
 */
export function buildCorpus(
  seed,
  { bodyLimitBytes = 16_384, httpCount = 460, rawCount = 120 } = {},
) {
  const rnd = prng(seed)
  const pick = (list) => list[Math.floor(rnd() * list.length)]
  const int = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1))
  const str = (n, alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789') =>
    Array.from({ length: n }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join('')

  // Values that are never a valid name: wrong types, empty, or longer than the 200-char maximum.
  const wrongValues = () =>
    pick([123, -1, 1.5, true, false, null, [], {}, ['1'], { id: '1' }, '', str(int(201, 400))])
  const nested = (depth, open, close) => Buffer.from(open.repeat(depth) + close.repeat(depth))

  /** Body generators for POST /addEvent: each returns [label, Buffer, contentType?]. */
  const badBodies = [
    () => ['name wrong type', json({ name: wrongValues(), userId: '1' })],
    () => [
      'userId wrong type',
      json({ name: 'x', userId: pick([true, null, [], {}, '', 'a b', str(65)]) }),
    ],
    () => [
      'details wrong type',
      json({ name: 'x', userId: '1', details: pick([1, true, [], {}, null]) }),
    ],
    () => ['missing name', json({ userId: '1' })],
    () => ['missing userId', json({ name: 'x' })],
    () => ['empty object', json({})],
    () => ['unknown field', json({ name: 'x', userId: '1', [str(int(1, 12))]: wrongValues() })],
    () => ['id supplied', json({ id: '1', name: 'x', userId: '1', color: 'red' })],
    () => ['array body', json([{ name: 'x', userId: '1' }])],
    () => ['scalar body', Buffer.from(pick(['1', 'true', 'null', '"x"', '[]', '-0', '1e400']))],
    () => ['name too long', json({ name: str(int(201, 3000)), userId: '1' })],
    () => ['details too long', json({ name: 'x', userId: '1', details: str(int(4001, 12000)) })],
    () => [
      'body over limit',
      json({ name: 'x', userId: '1', details: str(bodyLimitBytes + int(1, 4000)) }),
    ],
    () => ['nested arrays', nested(int(1000, Math.floor(bodyLimitBytes / 2) - 10), '[', ']')],
    () => ['nested objects, unclosed', Buffer.from(`${'{"a":'.repeat(int(500, 3000))}1`)],
    () => ['nested objects closed', nestedObjects(int(500, 3000))],
    () => [
      'nested in field',
      Buffer.from(`{"name":"x","userId":"1","details":${'['.repeat(3000)}${']'.repeat(3000)}}`),
    ],
    () => [
      'malformed json',
      Buffer.from(
        pick([
          '{',
          '{"name":',
          '{"name":"x",}',
          "{'name':'x'}",
          '{"name":"x" "userId":"1"}',
          'nul',
          '{"a":1}}',
          '\u0000{}',
        ]),
      ),
    ],
    () => [
      'invalid utf-8',
      Buffer.concat([
        Buffer.from('{"name":"'),
        Buffer.from([0xc3, 0x28, 0xff, 0xfe]),
        Buffer.from('","userId":"1"}'),
      ]),
    ],
    () => ['lone surrogate', Buffer.from('{"name":"\\ud800","userId":1.5}')],
    () => [
      'bom then json',
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"name":1,"userId":"1"}')]),
    ],
    () => ['utf-16 body', Buffer.from(JSON.stringify({ name: 1, userId: '1' }), 'utf16le')],
    () => ['empty body', Buffer.alloc(0)],
    () => ['duplicate keys', Buffer.from('{"name":"x","userId":"1","userId":{}}')],
    () => ['proto pollution', Buffer.from('{"name":"x","userId":"1","__proto__":{"admin":true}}')],
    () => [
      'constructor pollution',
      Buffer.from('{"name":"x","userId":"1","constructor":{"prototype":{"a":1}}}'),
    ],
    () => ['huge number', Buffer.from(`{"name":"x","userId":${'9'.repeat(int(20, 400))}}`)],
  ]
  const badContentTypes = [
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/xml',
    'application/json; charset=latin1',
    'application/jsonx',
    'image/png',
    '',
  ]
  const badIds = () =>
    pick([
      '%',
      '%zz',
      '%c3%28',
      '%00',
      'a%2Fb',
      '..',
      '%2e%2e',
      'a.b',
      'a%20b',
      '%E2%82%AC',
      '~',
      str(65),
      str(int(101, 600)),
      "1'%20OR%201=1",
      '%3Cscript%3E',
      '1;2',
      '1,2',
      '_'.repeat(65),
    ])
  const badQueries = () =>
    pick([
      'limit=0',
      'limit=-1',
      'limit=201',
      'limit=0x10',
      'limit=2e1',
      'limit=%205',
      'limit=5%20',
      'limit=1.5',
      'limit=abc',
      'limit=',
      'limit=1&limit=2',
      'limit[]=1',
      'limit=Infinity',
      'limit=NaN',
      'limit=1e309',
      'limit=+5',
      'limit=05x',
      'offset=-1',
      'offset=1000001',
      'offset=0x1',
      'offset=1e3',
      'fields=password',
      'fields=name,,id',
      'fields=',
      'fields=name&fields=id',
      'fields=__proto__',
      `${str(8)}=1`,
      '__proto__=1',
      'constructor=1',
      `limit=${'9'.repeat(int(20, 300))}`,
      '%=1',
      'limit=%zz',
    ])
  const pageRoutes = ['/getEventsByUserId/', '/users/']

  const http = []
  const gens = [
    // POST /addEvent with a bad body
    () => {
      const [label, body] = pick(badBodies)()
      return {
        label: `addEvent: ${label}`,
        method: 'POST',
        path: '/addEvent',
        headers: { 'content-type': JSON_TYPE },
        body,
      }
    },
    () => {
      const [label, body] = pick(badBodies)()
      return {
        label: `addEvent: ${label} (idempotency key)`,
        method: 'POST',
        path: '/addEvent',
        headers: { 'content-type': JSON_TYPE, 'idempotency-key': `chaos-${str(8)}` },
        body,
      }
    },
    // Wrong content type (valid JSON inside, so only the type is wrong)
    () => {
      const type = pick(badContentTypes)
      const headers = type === '' ? {} : { 'content-type': type }
      return {
        label: `addEvent: content-type ${JSON.stringify(type)}`,
        method: 'POST',
        path: '/addEvent',
        headers,
        body: Buffer.from('{"name":1}'),
      }
    },
    // Content-Encoding the service does not speak
    () => ({
      label: 'addEvent: content-encoding',
      method: 'POST',
      path: '/addEvent',
      headers: {
        'content-type': JSON_TYPE,
        'content-encoding': pick(['gzip', 'br', 'deflate', 'x-unknown']),
      },
      body: Buffer.from([0x1f, 0x8b, 0x08, 0, 1, 2, 3, 4]),
    }),
    // Bad idempotency keys on an otherwise valid body
    () => ({
      label: 'addEvent: bad idempotency-key',
      method: 'POST',
      path: '/addEvent',
      headers: {
        'content-type': JSON_TYPE,
        'idempotency-key': pick(['', ' ', 'a b', str(201), 'cl\u00e9']),
      },
      body: json({ name: 'x', userId: '1' }),
    }),
    // Path abuse on the page routes
    () => {
      const base = pick(pageRoutes)
      const id = badIds()
      const path = base === '/users/' ? `/users/${id}/events` : `${base}${id}`
      return { label: `page: bad id`, method: 'GET', path, headers: {} }
    },
    // Query abuse on the page routes
    () => {
      const base = pick(pageRoutes)
      const path = base === '/users/' ? '/users/1/events' : '/getEventsByUserId/1'
      return {
        label: `page: bad query`,
        method: 'GET',
        path: `${path}?${badQueries()}`,
        headers: {},
      }
    },
    // Unknown query parameters on routes without inputs
    () => ({
      label: 'list: unknown query',
      method: 'GET',
      path: `${pick(['/getUsers', '/getEvents', '/healthz', '/readyz'])}?${pick(['x=1', 'limit=1', '__proto__=1', `${str(5)}=${str(5)}`])}`,
      headers: {},
    }),
    // Unknown routes and methods
    () => ({
      label: 'unknown route',
      method: pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH']),
      path: pick([
        '/',
        '/admin',
        '/getUsers/1',
        '/addEvent/1',
        `/${str(10)}`,
        '/getEventsByUserId',
        '/getEventsByUserId/',
        '/users//events',
        '/%2e%2e/etc/passwd',
        '/getUsers%00',
      ]),
      headers: {},
    }),
    () => ({
      label: 'wrong method',
      method: pick(['PUT', 'DELETE', 'PATCH']),
      path: pick(['/getUsers', '/getEvents', '/addEvent', '/getEventsByUserId/1', '/healthz']),
      headers: { 'content-type': JSON_TYPE },
      body: Buffer.from('{}'),
    }),
    () => ({
      label: 'GET with a bad body',
      method: 'POST',
      path: pick(['/getUsers', '/getEventsByUserId/1', '/healthz']),
      headers: { 'content-type': JSON_TYPE },
      body: nested(200, '[', ']'),
    }),
    // Unknown user ids (well-formed): 404 after an upstream lookup
    () => ({
      label: 'unknown user',
      method: 'GET',
      path: `${pick(['/getEventsByUserId/', '/users/'])}${str(int(1, 20))}`.replace(
        /^\/users\/(.*)$/,
        '/users/$1/events',
      ),
      headers: {},
    }),
    // POST for a user that does not exist: the upstream answers 400/404, never a 5xx
    () => ({
      label: 'addEvent: unknown user',
      method: 'POST',
      path: '/addEvent',
      headers: { 'content-type': JSON_TYPE },
      body: json({ name: 'ghost', userId: `nobody-${str(6)}` }),
    }),
  ]
  for (let i = 0; i < httpCount; i++) http.push({ kind: 'http', ...pick(gens)() })
  // The exact reproductions from the issue, always present.
  http.push(
    {
      kind: 'http',
      label: 'issue: 5,000-deep array',
      method: 'POST',
      path: '/addEvent',
      headers: { 'content-type': JSON_TYPE },
      body: nested(5000, '[', ']'),
    },
    {
      kind: 'http',
      label: 'issue: FST_ERR_BAD_URL',
      method: 'GET',
      path: '/getEventsByUserId/%',
      headers: {},
    },
    {
      kind: 'http',
      label: 'issue: 101-character id',
      method: 'GET',
      path: `/getEventsByUserId/${'1'.repeat(101)}`,
      headers: {},
    },
    {
      kind: 'http',
      label: 'issue: limit=0x10',
      method: 'GET',
      path: '/getEventsByUserId/1?limit=0x10',
      headers: {},
    },
    {
      kind: 'http',
      label: 'issue: limit=2e1',
      method: 'GET',
      path: '/getEventsByUserId/1?limit=2e1',
      headers: {},
    },
    {
      kind: 'http',
      label: 'issue: limit=%205',
      method: 'GET',
      path: '/getEventsByUserId/1?limit=%205',
      headers: {},
    },
  )

  const raw = []
  const rawGens = [
    () => ['garbage line', `${str(int(1, 60), 'abc XYZ/:;\t')}\r\n\r\n`],
    () => ['bad version', `GET /healthz HTTP/${pick(['9.9', '0.0', '1', 'x'])}\r\nHost: a\r\n\r\n`],
    () => ['no host', 'GET /healthz HTTP/1.1\r\n\r\n'],
    () => ['space in path', 'GET /getEventsByUserId/a b HTTP/1.1\r\nHost: a\r\n\r\n'],
    () => [
      'control char in path',
      `GET /getEventsByUserId/a${pick(['\u0001', '\u0000', '\u007f'])}b HTTP/1.1\r\nHost: a\r\n\r\n`,
    ],
    () => ['header without colon', 'GET /healthz HTTP/1.1\r\nHost: a\r\nX-Broken\r\n\r\n'],
    () => [
      'bad header name',
      `GET /healthz HTTP/1.1\r\nHost: a\r\n${pick(['X Y', 'X(Y)', 'X\u0001', '@'])}: 1\r\n\r\n`,
    ],
    () => [
      'bad header value',
      'GET /healthz HTTP/1.1\r\nHost: a\r\nX-Request-Id: a\u0000b\r\n\r\n',
    ],
    () => [
      'cl and te',
      'POST /addEvent HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    ],
    () => [
      'two content-lengths',
      'POST /addEvent HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}',
    ],
    () => [
      'negative content-length',
      'POST /addEvent HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n{}',
    ],
    () => [
      'huge content-length',
      `POST /addEvent HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: ${'9'.repeat(int(12, 30))}\r\n\r\n{}`,
    ],
    () => [
      'bad chunk size',
      `POST /addEvent HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${pick(['zz', '-1', 'ffffffffffffffffff'])}\r\n{}\r\n0\r\n\r\n`,
    ],
    () => [
      'bad transfer-encoding',
      'POST /addEvent HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip, chunked, identity\r\n\r\n0\r\n\r\n',
    ],
    () => [
      'short body then close',
      'POST /addEvent HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":',
    ],
    () => [
      'oversized headers',
      `GET /healthz HTTP/1.1\r\nHost: a\r\nX-Big: ${str(int(17_000, 40_000))}\r\n\r\n`,
    ],
    () => [
      'oversized url',
      `GET /getEventsByUserId/${str(int(17_000, 40_000))} HTTP/1.1\r\nHost: a\r\n\r\n`,
    ],
    () => ['lf only', 'GET /healthz HTTP/1.1\nHost: a\n\n'],
    () => ['bare cr', 'GET /healthz HTTP/1.1\rHost: a\r\r'],
    () => [
      'method garbage',
      `${pick(['G ET', 'GE\u0000T', 'get', 'BREW', 'CONNECT'])} /healthz HTTP/1.1\r\nHost: a\r\n\r\n`,
    ],
    () => ['absolute form bad', 'GET http://[::1/healthz HTTP/1.1\r\nHost: a\r\n\r\n'],
    () => ['obs-fold header', 'GET /healthz HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  continued\r\n\r\n'],
    () => ['binary noise', Buffer.from(Array.from({ length: int(16, 512) }, () => int(0, 255)))],
    () => [
      'tls hello',
      Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]),
    ],
  ]
  for (let i = 0; i < rawCount; i++) {
    const [label, bytes] = pick(rawGens)()
    raw.push({
      kind: 'raw',
      label: `raw: ${label}`,
      bytes: Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'latin1'),
    })
  }
  return { http, raw }
}

/** Private: a JSON body. */
function json(value) {
  return Buffer.from(JSON.stringify(value))
}

/** Private: `{"a":{"a":...1...}}` nested `depth` levels. */
function nestedObjects(depth) {
  return Buffer.from(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`)
}
