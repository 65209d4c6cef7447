/**
 * Connection errors in words an attendee can act on, without credentials. The RabbitMQ transport
 * uses them in its errors; the workshop's server probes (shared/workshop/src/servers/) too.
 */

/** A connection attempt outlived its deadline; {@link describeConnectionError} says so. */
export class DeadlineExceeded extends Error {
  override name = 'DeadlineExceeded';
}

/** A URL fit for logs and error messages: the password is replaced by `***`. */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.host) {
      if (parsed.password) parsed.password = '***';
      return parsed.toString().replace(/\/$/, '');
    }
  } catch {
    // not a URL: masked below
  }
  // Not a URL with a host: hide what stands between "//user:" (or, without a scheme, the first
  // ':') and the last '@'.
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return url.replace(/(:\/\/[^:/@]*:).*@/, '$1***@');
  return url.replace(/^([^:@/]*:).*@/, '$1***@');
}

/** Turns a connection error into a short sentence an attendee can act on. */
export function describeConnectionError(error: unknown, timeoutMs: number): string {
  const err = firstCause(error);
  const code = typeof err.code === 'string' ? err.code : '';
  const message = err.message ?? String(error);
  const seconds = `${(timeoutMs / 1000).toFixed(timeoutMs % 1000 === 0 ? 0 : 1)} s`;
  if (err instanceof DeadlineExceeded || code === 'ETIMEDOUT' || /timed? ?out/i.test(message)) {
    return `no answer within ${seconds}`;
  }
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (nothing is listening there)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name not found';
    case 'ECONNRESET':
      return 'the server reset the connection (is it really the right kind of server?)';
    case '28P01':
    case '28000':
      return `authentication failed: ${message}`;
    case '3D000':
      return `the database does not exist: ${message}`;
  }
  if (/ACCESS.REFUSED/i.test(message)) return 'user name or password rejected by the broker';
  if (/NOT.ALLOWED|vhost|Expected ConnectionOpenOk; got <ConnectionClose/i.test(message)) {
    return 'the broker refused the virtual host (it does not exist, or the user has no access to it)';
  }
  if (/Frame size \d+ exceeds|Expected ConnectionStart|Unexpected frame/i.test(message)) {
    return 'the server there does not speak AMQP (an HTTP server, or the wrong port?)';
  }
  if (/closed abruptly|handshake/i.test(message)) {
    return 'the server closed the connection during the handshake (wrong port, or not RabbitMQ?)';
  }
  if (/Connection terminated unexpectedly/i.test(message)) {
    return 'the server closed the connection at once (wrong port, or not Postgres?)';
  }
  if (/role ".*" does not exist/.test(message)) return message;
  return maskSecrets(message.split('\n')[0] ?? 'unknown error');
}

interface ErrorLike {
  message?: string;
  code?: unknown;
}

/** Node reports a refused dual-stack connect as an AggregateError; the first cause says why. */
function firstCause(error: unknown): ErrorLike & Error {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return firstCause(error.errors[0]);
  }
  if (error instanceof Error) return error as ErrorLike & Error;
  return new Error(String(error)) as ErrorLike & Error;
}

function maskSecrets(text: string): string {
  return text.replace(/\b(amqps?|postgres(?:ql)?):\/\/\S+/g, (url) => maskUrl(url));
}
