/** RFC 9110 `token`: the characters a header name (and a method) may be made of. */
export const HEADER_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/** Whether `value` is a string that is a valid header name (an RFC 9110 token). */
export function isHeaderToken(value: unknown): value is string {
  return typeof value === 'string' && HEADER_TOKEN.test(value)
}
