import { connect, createServer, type Socket } from 'node:net';

/** What answers on a local TCP port, found by speaking the first bytes of each protocol. */
export type PortOccupant = 'free' | 'rabbitmq' | 'postgres' | 'rabbitmq-management' | 'other';

const HOST = '127.0.0.1';

/**
 * Sends `hello` and gives what comes back once `enough` says so, the server closes, or the time
 * is up (then possibly nothing). `free` when nothing listens.
 */
function exchange(
  port: number,
  hello: Buffer | string,
  enough: (reply: Buffer) => boolean,
  timeoutMs: number,
): Promise<Buffer | 'free'> {
  return new Promise((resolve) => {
    const socket: Socket = connect({ host: HOST, port });
    const chunks: Buffer[] = [];
    const finish = (result: Buffer | 'free') => {
      socket.destroy();
      clearTimeout(timer);
      resolve(result);
    };
    const timer = setTimeout(() => finish(Buffer.concat(chunks)), timeoutMs);
    socket.once('connect', () => socket.write(hello));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const reply = Buffer.concat(chunks);
      if (enough(reply)) finish(reply);
    });
    socket.once('end', () => finish(Buffer.concat(chunks)));
    socket.once('error', (error: NodeJS.ErrnoException) =>
      finish(error.code === 'ECONNREFUSED' ? 'free' : Buffer.concat(chunks)),
    );
  });
}

/** AMQP 0-9-1 protocol header; a broker answers with a connection.start method frame (type 1). */
const AMQP_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);
/** Postgres SSLRequest; a server answers with a single byte, `S` or `N`. */
const PG_SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

export async function sniffPort(
  port: number,
  expected: Exclude<PortOccupant, 'free' | 'other'> | 'http',
  timeoutMs = 1500,
): Promise<PortOccupant | 'http'> {
  if (expected === 'rabbitmq') {
    const reply = await exchange(port, AMQP_HEADER, (r) => r.length >= 8, timeoutMs);
    if (reply === 'free') return 'free';
    return reply[0] === 1 || reply.subarray(0, 4).toString() === 'AMQP' ? 'rabbitmq' : 'other';
  }
  if (expected === 'postgres') {
    const reply = await exchange(port, PG_SSL_REQUEST, (r) => r.length >= 1, timeoutMs);
    if (reply === 'free') return 'free';
    return reply.length === 1 && (reply[0] === 0x53 || reply[0] === 0x4e) ? 'postgres' : 'other';
  }
  const request = `GET / HTTP/1.0\r\nHost: ${HOST}:${port}\r\n\r\n`;
  const reply = await exchange(
    port,
    request,
    (r) => r.length > 65_536 || /rabbitmq/i.test(r.toString('latin1')),
    timeoutMs,
  );
  if (reply === 'free') return 'free';
  const text = reply.toString('latin1');
  if (!text.startsWith('HTTP/')) return 'other';
  if (expected === 'rabbitmq-management') {
    return /rabbitmq/i.test(text) ? 'rabbitmq-management' : 'http';
  }
  return 'http';
}

/**
 * True when a server could listen on `port` now. Binding is the only sure test: a program on
 * ::1 (common on macOS) is invisible to a connect to 127.0.0.1, but it makes the bind fail.
 */
export function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
