/**
 * Postgres without a server: PGlite (Postgres compiled to WebAssembly, in this process) behind
 * a small wire-protocol server, so the `pg` client and every line of the library connect to it
 * unchanged, with a `postgres://` URL.
 *
 * PGlite is one session. Many connections share it here under three rules, which keep what each
 * connection sees what it would see on Postgres:
 *
 * 1. **One transaction at a time.** A connection that opens a transaction owns the session until
 *    it commits or rolls back; statements of other connections wait. Two transactions never
 *    interleave, so `for update`, `skip locked` and version checks stay correct (nothing is
 *    ever locked by someone else). Single statements outside transactions still interleave
 *    statement by statement, so the optimistic-concurrency race stays a race.
 * 2. **A request is a unit.** A simple query, or the extended protocol's messages up to Sync,
 *    run together: another connection's Parse never lands between a Parse and its Bind.
 * 3. **Session settings follow the connection.** Each connection's `search_path` (from its
 *    startup `options`, as `pg` sends them) is set before its statements run; notifications
 *    (`LISTEN`/`NOTIFY`) go to the connections that listen on their channel.
 *
 * 4. **A statement is not held up by someone else's idle transaction for long.** Code that holds
 *    a transaction open on one connection and waits for a statement on another (a handler that
 *    writes through the pool inside its message's transaction) would wait forever on one session.
 *    When the owner of the session has sent nothing for {@link EmbeddedDatabaseOptions.borrowAfterMs}
 *    and its transaction is open and healthy, a waiting single statement that locks no rows runs
 *    inside the owner's transaction, under a savepoint, and is kept: if the owner rolls back, it
 *    runs again on its own afterwards, as it would have committed on Postgres (a different answer
 *    the second time is counted and said on stderr).
 *
 * Where it differs from Postgres, on purpose and only then: a statement run inside the owner's
 * transaction sees the owner's uncommitted rows (and its `now()`), and a second *transaction* that
 * waits while the owner waits for it fails after {@link EmbeddedDatabaseOptions.deadlockAfterMs}
 * with SQLSTATE 55P03 and a message that says why. Not supported: COPY FROM STDIN (refused),
 * named prepared statements shared across connections, session settings other than search_path
 * kept per connection.
 */
import { randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';

export interface EmbeddedDatabaseOptions {
  /** Where the data lives between runs; undefined: in memory, gone when it stops. */
  readonly dataDir?: string;
  /**
   * For a database in memory: a freshly initialised database saved in this file, loaded instead
   * of initialising another (about 1 s instead of 5). Written on first use.
   */
  readonly templateFile?: string;
  /** Default 0: any free port. */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /**
   * How long a statement waits while another connection holds a transaction and sends nothing,
   * before it fails as a deadlock (what cannot be borrowed: a transaction of its own). Default 300 ms: a wrong guess costs
   * that statement an error (its handler a retry); a right one ends a wait that would not end.
   */
  readonly deadlockAfterMs?: number;
  /**
   * How long a single statement waits while another connection holds a transaction and sends
   * nothing, before it runs inside that transaction as if on its own (see the top). Default 50 ms.
   */
  readonly borrowAfterMs?: number;
}

export interface EmbeddedDatabase {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` */
  readonly url: string;
  readonly port: number;
  /** What it has seen: requests run, deadlocks broken, connections now open. */
  stats(): {
    requests: number;
    borrowed: number;
    deadlocks: number;
    /** Borrowed statements whose run again after a rollback answered otherwise than at first. */
    replayMismatches: number;
    connections: number;
  };
  stop(): Promise<void>;
}

/** The SQLSTATE of a statement that waited for the session too long: `lock_not_available`. */
export const EMBEDDED_DEADLOCK_CODE = '55P03';

const PROTOCOL_3 = 196_608;
const SSL_REQUEST = 80_877_103;
const GSS_REQUEST = 80_877_104;
const CANCEL_REQUEST = 80_877_102;

export async function startEmbeddedDatabase(
  options: EmbeddedDatabaseOptions = {},
): Promise<EmbeddedDatabase> {
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const db = options.dataDir
    ? await PGlite.create(options.dataDir)
    : await inMemory(options.templateFile);
  const session = new Session(db, options.borrowAfterMs ?? 100, options.deadlockAfterMs ?? 300);
  const connections = new Set<Connection>();
  const server = net.createServer((socket) => {
    const connection = new Connection(socket, session);
    connections.add(connection);
    socket.once('close', () => connections.delete(connection));
  });
  const host = options.host ?? '127.0.0.1';
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await db.close().catch(() => {});
    throw error;
  }
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `postgres://postgres@${host}:${port}/postgres`,
    port,
    stats: () => ({
      requests: session.requests,
      borrowed: session.borrowed,
      deadlocks: session.deadlocks,
      replayMismatches: session.replayMismatches,
      connections: connections.size,
    }),
    async stop() {
      const closing = new Promise<void>((resolve) => server.close(() => resolve()));
      // Every connection forgotten (its transaction rolled back, what it borrowed run again)
      // before the database closes: nothing runs against a closed database.
      await Promise.all([...connections].map((connection) => connection.end()));
      await closing;
      await session.idle();
      session.stopped = true;
      await db.close();
    },
  };
}

async function inMemory(templateFile: string | undefined): Promise<PGlite> {
  if (!templateFile) return PGlite.create('memory://');
  if (existsSync(templateFile)) {
    try {
      return await PGlite.create({ loadDataDir: new Blob([readFileSync(templateFile)]) });
    } catch {
      // a damaged template: make it again below
    }
  }
  const db = await PGlite.create('memory://');
  const dump = await db.dumpDataDir('none');
  mkdirSync(path.dirname(templateFile), { recursive: true });
  // Written aside and renamed: another process reading it never sees half a file.
  const aside = `${templateFile}.${process.pid}`;
  writeFileSync(aside, Buffer.from(await dump.arrayBuffer()));
  renameSync(aside, templateFile);
  return db;
}

interface Request {
  readonly connection: Connection;
  readonly bytes: Buffer;
  /** When it arrived: the deadlock breaker fails only what has waited long enough. */
  readonly since: number;
  /** Its SQL texts, read once when it arrives (the queue looks at them more than once). */
  readonly statements: readonly string[];
  /** Whether it may run inside another connection's transaction ({@link borrowable}). */
  readonly borrowable: boolean;
}

/** The one PGlite session, and the queue of requests from every connection. */
class Session {
  requests = 0;
  deadlocks = 0;
  borrowed = 0;
  replayMismatches = 0;
  stopped = false;
  private readonly queue: Request[] = [];
  /** The connection whose transaction is open, if any. */
  private owner: Connection | undefined;
  private ownerIdleSince = 0;
  /** Savepoints the owner has open: while any is, nothing is borrowed (a rollback to it would undo it). */
  private ownerSavepoints = 0;
  /** Statements of others run inside the owner's transaction, to run again if it rolls back. */
  private borrowedRequests: { request: Request; tags: string[] }[] = [];
  /** The owner's last status (`T` open, `E` failed), and whether its request is over (Sync). */
  private ownerStatus: string | undefined;
  private running: Promise<void> | undefined;
  /** The session's search_path; undefined when unknown (a transaction that set it ended). */
  private searchPath: string | undefined = 'public';
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new Map<string, Set<Connection>>();

  constructor(
    private readonly db: PGlite,
    private readonly borrowAfterMs: number,
    private readonly deadlockAfterMs: number,
  ) {}

  submit(request: Request): void {
    // Ending a transaction that is not open needs no session: answered as Postgres answers it.
    if (
      request.connection !== this.owner &&
      !this.queue.some((r) => r.connection === request.connection)
    ) {
      const { statements } = request;
      if (
        statements.length === 1 &&
        request.bytes[0] === 0x51 &&
        /^\s*(rollback|abort|commit|end)\s*$/i.test(statements[0] ?? '')
      ) {
        const tag = /^\s*(commit|end)/i.test(statements[0] ?? '') ? 'COMMIT' : 'ROLLBACK';
        request.connection.write(
          Buffer.concat([
            packetOf(
              'N',
              Buffer.from('SWARNING\0VWARNING\0C25P01\0Mthere is no transaction in progress\0\0'),
            ),
            packetOf('C', Buffer.from(`${tag}\0`)),
            readyForQuery('I'),
          ]),
        );
        return;
      }
    }
    this.queue.push(request);
    this.pump();
  }

  listen(connection: Connection, channel: string): void {
    const set = this.listeners.get(channel) ?? new Set<Connection>();
    set.add(connection);
    this.listeners.set(channel, set);
  }

  /** `*`: every channel. The session itself goes on listening, for the others. */
  unlisten(connection: Connection, channel: string): void {
    for (const [name, set] of this.listeners)
      if (channel === '*' || name === channel) set.delete(connection);
  }

  /** The transaction status a connection would report: its own, or idle. */
  statusOf(connection: Connection): 'I' | 'T' | 'E' {
    if (this.owner !== connection) return 'I';
    return this.ownerStatus === 'E' ? 'E' : 'T';
  }

  /** The connection is gone: its requests are dropped, its open transaction rolled back. */
  async forget(connection: Connection): Promise<void> {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      if (this.queue[i]?.connection === connection) this.queue.splice(i, 1);
    }
    for (const set of this.listeners.values()) set.delete(connection);
    while (this.running) await this.running;
    if (this.owner === connection) {
      this.owner = undefined;
      clearTimeout(this.timer);
      this.timer = undefined;
      this.running = (async () => {
        await this.db.exec('rollback').catch(() => {});
        await this.transactionEnded(false);
      })().finally(() => {
        this.running = undefined;
      });
      await this.running;
    }
    this.pump();
  }

  async idle(): Promise<void> {
    while (this.running) await this.running;
    clearTimeout(this.timer);
  }

  private pump(): void {
    if (this.running || this.stopped) return;
    const index = this.owner ? this.queue.findIndex((r) => r.connection === this.owner) : 0;
    if (index < 0 || this.queue.length === 0) {
      this.watchIdleOwner();
      return;
    }
    const [request] = this.queue.splice(index, 1);
    if (!request) return;
    this.start(() => this.run(request));
  }

  private start(work: () => Promise<void>): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.running = work().finally(() => {
      this.running = undefined;
      this.pump();
    });
  }

  private async useSearchPath(path: string): Promise<void> {
    if (path === this.searchPath) return;
    await this.db.exec(`set search_path to ${path}`);
    this.searchPath = path;
  }

  private async run(request: Request): Promise<void> {
    const { connection, bytes, statements } = request;
    this.requests += 1;
    const wasOwner = this.owner === connection;
    let out: Buffer;
    if (statements.some((text) => /^\s*copy\b[\s\S]*\bfrom\s+stdin\b/i.test(text))) {
      // PGlite cannot take the data of COPY FROM STDIN over this protocol (it would hang).
      out = failure(
        '0A000',
        'COPY … FROM STDIN is not supported by the embedded database: use INSERT, or run the workshop on Postgres',
        wasOwner ? ((this.ownerStatus as 'T' | 'E' | undefined) ?? 'I') : 'I',
      );
      connection.write(out);
      return;
    }
    try {
      await this.useSearchPath(connection.searchPath);
      out = Buffer.from(await this.db.execProtocolRaw(bytes));
    } catch (error) {
      out = failure('XX000', `the embedded database failed: ${messageOf(error)}`, 'I');
    }
    // A setting changed by the client itself (set, reset, set_config): the path is not known.
    if (statements.some((text) => SETTING.test(text))) this.searchPath = undefined;
    const { kept, status, lastTag } = this.sort(out);
    // No ReadyForQuery (a Flush): the request is not over, the connection keeps the session.
    this.owner = status === 'I' ? undefined : connection;
    this.ownerStatus = status;
    this.ownerIdleSince = Date.now();
    if (this.owner) this.ownerSavepoints += savepointChange(statements);
    if (wasOwner && status === 'I') await this.transactionEnded(lastTag === 'COMMIT');
    connection.write(Buffer.concat(kept));
  }

  /**
   * Runs a statement of another connection inside the owner's transaction, under a savepoint of
   * its own, as if the owner's transaction were not there. It is kept, to run again should the
   * owner roll back: on Postgres it would have committed on its own.
   */
  private async borrow(request: Request): Promise<void> {
    const { connection, bytes } = request;
    this.requests += 1;
    this.borrowed += 1;
    let out: Buffer;
    try {
      await this.db.exec('savepoint embedded_borrowed');
      // A SET inside the transaction is undone with it: from here on the path is not known.
      await this.useSearchPath(connection.searchPath);
      this.searchPath = undefined;
      out = Buffer.from(await this.db.execProtocolRaw(bytes));
      const failed = [...messages(out)].some((m) => m[0] === 0x45 /* E: ErrorResponse */);
      if (failed) await this.db.exec('rollback to savepoint embedded_borrowed');
      await this.db.exec('release savepoint embedded_borrowed');
      if (!failed) this.borrowedRequests.push({ request, tags: tagsOf(out) });
    } catch (error) {
      out = failure('XX000', `the embedded database failed: ${messageOf(error)}`, 'I');
    }
    const { kept } = this.sort(out, 'I'); // its own connection is not in a transaction
    this.ownerIdleSince = Date.now();
    connection.write(Buffer.concat(kept));
  }

  /** The owner's transaction is over: what it borrowed stays if it committed, else runs again. */
  private async transactionEnded(committed: boolean): Promise<void> {
    this.searchPath = undefined;
    this.ownerSavepoints = 0;
    const borrowed = this.borrowedRequests;
    this.borrowedRequests = [];
    if (committed) return;
    for (const { request, tags } of borrowed) {
      const { connection, bytes } = request;
      let again: string[] = [];
      try {
        await this.useSearchPath(connection.searchPath);
        const out = Buffer.from(await this.db.execProtocolRaw(bytes));
        for (const message of messages(out)) if (message[0] === 0x41) this.notify(message);
        again = tagsOf(out);
      } catch (error) {
        again = [`failed: ${messageOf(error)}`];
      }
      if (again.join('|') !== tags.join('|')) {
        // On Postgres it would have committed with its first answer; here, run again without the
        // rolled-back transaction, it answered otherwise. Said, so that it is not silent.
        this.replayMismatches += 1;
        console.warn(
          `embedded database: a statement that ran inside another connection's transaction (which then rolled back) answered "${tags.join('; ')}" the first time and "${again.join('; ')}" when run again: ${request.statements.join('; ').slice(0, 200)}`,
        );
      }
    }
  }

  /** Notifications to their listeners; the rest kept, with its last status and command tag. */
  private sort(
    out: Buffer,
    forceStatus?: 'I',
  ): { kept: Buffer[]; status: string | undefined; lastTag: string | undefined } {
    let status: string | undefined;
    let lastTag: string | undefined;
    const kept: Buffer[] = [];
    for (const message of messages(out)) {
      if (message[0] === 0x41 /* A: NotificationResponse */) {
        this.notify(message);
        continue;
      }
      if (message[0] === 0x43 /* C: CommandComplete */) {
        lastTag = message.subarray(5, message.length - 1).toString('latin1');
      }
      if (message[0] === 0x5a /* Z: ReadyForQuery */) {
        status = String.fromCharCode(message[5] ?? 0);
        if (forceStatus) {
          kept.push(readyForQuery(forceStatus));
          continue;
        }
      }
      kept.push(message);
    }
    return { kept, status, lastTag };
  }

  private notify(message: Buffer): void {
    const channelEnd = message.indexOf(0, 9);
    const channel = message.subarray(9, channelEnd).toString('utf8');
    for (const listener of this.listeners.get(channel) ?? []) listener.write(message);
  }

  /**
   * Others wait while the owner of the session sends nothing. If that lasts, the owner is most
   * likely waiting for one of them: a single statement runs inside the owner's transaction
   * ({@link borrow}); what cannot (a transaction of its own) fails after a longer wait, so the
   * owner can go on.
   */
  private watchIdleOwner(): void {
    const owner = this.owner;
    const waiting = owner ? this.queue.filter((r) => r.connection !== owner) : [];
    if (!owner || waiting.length === 0) {
      clearTimeout(this.timer);
      this.timer = undefined;
      return;
    }
    if (this.timer) return;
    const canBorrow = this.ownerCanLend() && waiting.some((r) => r.borrowable);
    const after = canBorrow ? this.borrowAfterMs : this.deadlockAfterMs;
    const wait = Math.max(0, this.ownerIdleSince + after - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.running || this.owner !== owner) return this.pump();
      const idleFor = Date.now() - this.ownerIdleSince;
      const next = this.queue.find((r) => r.connection !== owner && r.borrowable);
      if (next && this.ownerCanLend() && idleFor >= this.borrowAfterMs) {
        this.queue.splice(this.queue.indexOf(next), 1);
        this.start(() => this.borrow(next));
        return;
      }
      if (idleFor < this.deadlockAfterMs) return this.watchIdleOwner();
      const now = Date.now();
      for (let i = this.queue.length - 1; i >= 0; i--) {
        const request = this.queue[i];
        if (!request || request.connection === owner) continue;
        if (now - request.since < this.deadlockAfterMs) continue; // it has not waited long yet
        this.queue.splice(i, 1);
        this.deadlocks += 1;
        request.connection.write(
          failure(
            EMBEDDED_DEADLOCK_CODE,
            `the embedded database runs one transaction at a time, and another connection has held one for ${idleFor} ms without a word while this waited: code that waits for this inside its own transaction would wait forever (on Postgres it would not). Use the transaction's own connection, or run the workshop on Postgres`,
            'I',
          ),
        );
      }
      this.watchIdleOwner(); // those that came later wait their own time
    }, wait);
  }

  /**
   * Whether a statement of another connection may run inside the owner's transaction now: the
   * transaction is open and healthy (not failed), its last request is over (not a portal half
   * read), and no savepoint of its own is open (rolling back to it would undo the statement).
   */
  private ownerCanLend(): boolean {
    return this.ownerStatus === 'T' && this.ownerSavepoints === 0;
  }
}

/** The SQL texts of a request's simple queries and Parse messages. */
function statementsOf(bytes: Buffer): string[] {
  const texts: string[] = [];
  for (const message of messages(bytes)) {
    if (message[0] === 0x51 /* Q */) {
      texts.push(message.subarray(5, message.length - 1).toString('utf8'));
    } else if (message[0] === 0x50 /* P: name, then the query */) {
      const nameEnd = message.indexOf(0, 5);
      texts.push(message.subarray(nameEnd + 1, message.indexOf(0, nameEnd + 1)).toString('utf8'));
    }
  }
  return texts.flatMap((text) => text.split(';')).filter((text) => text.trim() !== '');
}

/** What changes a session setting: after it, the session's search_path is not known. */
const SETTING = /^\s*(set|reset|discard)\b|\bset_config\s*\(/i;

/** Row locks: inside another transaction they would lock, or skip, what is not theirs. */
const LOCKING =
  /\bfor\s+(update|share|no\s+key\s+update|key\s+share)\b|\bskip\s+locked\b|\bnowait\b/i;

const SESSION_STATEMENT =
  /^\s*(begin|start|commit|end|rollback|abort|savepoint|release|prepare|listen|unlisten|set|reset|discard|lock|vacuum|do)\b/i;

/** A request that may run inside someone else's transaction: statements, no transaction control. */
function borrowable(statements: readonly string[]): boolean {
  return (
    statements.length > 0 &&
    !statements.some((text) => SESSION_STATEMENT.test(text) || LOCKING.test(text))
  );
}

/** How a request of the owner changes the count of its open savepoints. */
function savepointChange(statements: readonly string[]): number {
  let change = 0;
  for (const text of statements) {
    if (/^\s*savepoint\b/i.test(text)) change += 1;
    else if (/^\s*release\b/i.test(text)) change -= 1;
  }
  return change;
}

/** One client connection: the startup handshake, then requests to the session. */
class Connection {
  searchPath = 'public';
  private buffer: Buffer = Buffer.alloc(0);
  private started = false;
  private pending: Buffer[] = [];
  private closed = false;
  private forgotten: Promise<void> | undefined;

  constructor(
    private readonly socket: net.Socket,
    private readonly session: Session,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (data) => {
      try {
        this.receive(data);
      } catch {
        this.end(); // bytes that are not the protocol: this connection ends, the server lives on
      }
    });
    socket.on('error', () => {}); // a client that goes away is not our failure
    socket.once('close', () => void this.end());
  }

  /** Ends the connection: its queued requests dropped, its open transaction rolled back. */
  end(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.forgotten = this.session.forget(this);
      this.socket.destroy();
    }
    return this.forgotten ?? Promise.resolve();
  }

  write(data: Buffer): void {
    if (!this.closed && data.length > 0 && this.socket.writable) this.socket.write(data);
  }

  private receive(data: Buffer): void {
    this.buffer = this.buffer.length === 0 ? data : Buffer.concat([this.buffer, data]);
    while (!this.closed) {
      if (!this.started) {
        if (this.buffer.length < 8) return;
        const length = this.buffer.readInt32BE(0);
        if (length < 8 || length > 10_000) throw new Error(`startup packet of ${length} bytes`);
        if (this.buffer.length < length) return;
        const packet = this.buffer.subarray(0, length);
        this.buffer = this.buffer.subarray(length);
        this.startup(packet);
        continue;
      }
      if (this.buffer.length < 5) return;
      const length = 1 + this.buffer.readInt32BE(1);
      if (length < 5) throw new Error(`message of ${length} bytes`);
      if (this.buffer.length < length) return;
      const message = this.buffer.subarray(0, length);
      this.buffer = this.buffer.subarray(length);
      this.message(message);
    }
  }

  private startup(packet: Buffer): void {
    const code = packet.readInt32BE(4);
    if (code === SSL_REQUEST || code === GSS_REQUEST) {
      this.socket.write('N'); // no encryption: plain text on 127.0.0.1
      return;
    }
    if (code === CANCEL_REQUEST || code !== PROTOCOL_3) {
      this.socket.end();
      return;
    }
    const fields = packet.subarray(8).toString('utf8').split('\0');
    const params = new Map<string, string>();
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i]) params.set(fields[i] as string, fields[i + 1] ?? '');
    }
    const fromOptions = /(?:-c\s*|--)search_path=(\S+)/.exec(params.get('options') ?? '')?.[1];
    const path = fromOptions ?? params.get('search_path');
    if (path) {
      if (!/^[A-Za-z_][A-Za-z0-9_$]*(,\s*[A-Za-z_][A-Za-z0-9_$]*)*$/.test(path)) {
        this.socket.end(
          Buffer.concat([errorResponse('22023', `search_path ${path}: not a list of names`)]),
        );
        return;
      }
      this.searchPath = path;
    }
    this.started = true;
    const secret = Buffer.alloc(8);
    secret.writeInt32BE(randomInt(1, 2 ** 31 - 1), 0);
    secret.writeInt32BE(randomInt(1, 2 ** 31 - 1), 4);
    this.socket.write(
      Buffer.concat([
        packetOf('R', Buffer.from([0, 0, 0, 0])), // AuthenticationOk
        parameterStatus('server_version', '17.5'),
        parameterStatus('server_encoding', 'UTF8'),
        parameterStatus('client_encoding', 'UTF8'),
        parameterStatus('DateStyle', 'ISO, MDY'),
        parameterStatus('integer_datetimes', 'on'),
        parameterStatus('standard_conforming_strings', 'on'),
        parameterStatus('application_name', params.get('application_name') ?? ''),
        packetOf('K', secret),
        readyForQuery('I'),
      ]),
    );
  }

  private message(message: Buffer): void {
    const type = String.fromCharCode(message[0] ?? 0);
    if (type === 'X') {
      // Forgotten now, not when the socket closes: its open transaction ends before anything else.
      void this.end();
      return;
    }
    if (type === 'Q' && this.pending.length === 0) {
      const text = message.subarray(5, message.length - 1).toString('utf8');
      const unlisten = /^\s*unlisten\s+("?)([A-Za-z_][\w$]*|\*)\1\s*;?\s*$/i.exec(text);
      if (unlisten?.[2]) {
        // Answered here: the session keeps listening for the connections that still do.
        const channel = unlisten[1] ? unlisten[2] : unlisten[2].toLowerCase();
        this.session.unlisten(this, channel);
        this.write(
          Buffer.concat([
            packetOf('C', Buffer.from('UNLISTEN\0')),
            readyForQuery(this.session.statusOf(this)),
          ]),
        );
        return;
      }
      const listen = /^\s*listen\s+("?)([A-Za-z_][\w$]*)\1\s*;?\s*$/i.exec(text);
      if (listen?.[2]) this.session.listen(this, listen[1] ? listen[2] : listen[2].toLowerCase());
    }
    this.pending.push(message);
    if (type === 'Q' || type === 'S' || type === 'H') {
      const bytes = this.pending.length === 1 ? message : Buffer.concat(this.pending);
      this.pending = [];
      const statements = statementsOf(bytes);
      this.session.submit({
        connection: this,
        bytes,
        since: Date.now(),
        statements,
        borrowable: borrowable(statements),
      });
    }
  }
}

/** The backend messages in `out`, each a view of its bytes. */
function* messages(out: Buffer): Generator<Buffer> {
  let at = 0;
  while (at + 5 <= out.length) {
    const end = at + 1 + out.readInt32BE(at + 1);
    yield out.subarray(at, end);
    at = end;
  }
}

function packetOf(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
}

function parameterStatus(name: string, value: string): Buffer {
  return packetOf('S', Buffer.from(`${name}\0${value}\0`, 'utf8'));
}

function readyForQuery(status: 'I' | 'T' | 'E'): Buffer {
  return packetOf('Z', Buffer.from(status, 'latin1'));
}

/** The command tags (or error codes) of a response: what a client was told happened. */
function tagsOf(out: Buffer): string[] {
  const tags: string[] = [];
  for (const message of messages(out)) {
    if (message[0] === 0x43 /* C */)
      tags.push(message.subarray(5, message.length - 1).toString('latin1'));
    if (message[0] === 0x45 /* E */) tags.push('error');
  }
  return tags;
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}

/** An error, then ReadyForQuery with `status`: a request that failed as a whole. */
function failure(code: string, text: string, status: 'I' | 'T' | 'E'): Buffer {
  return Buffer.concat([errorResponse(code, text), readyForQuery(status)]);
}

function errorResponse(code: string, text: string): Buffer {
  return packetOf('E', Buffer.from(`SERROR\0VERROR\0C${code}\0M${text}\0\0`, 'utf8'));
}
