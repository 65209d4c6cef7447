import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitFor } from '@pierogi/shared/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EMBEDDED_DEADLOCK_CODE,
  EMBEDDED_HOME,
  type EmbeddedDatabase,
  startEmbeddedDatabase,
} from '../src/servers/index.ts';

/**
 * The embedded database: PGlite, one session, shared by many `pg` connections. What each
 * connection sees must be what it would see on Postgres.
 */
describe('embedded database (PGlite behind the wire protocol)', () => {
  let db: EmbeddedDatabase;
  const pools: pg.Pool[] = [];
  const pool = (schema?: string) => {
    const created = new pg.Pool({
      connectionString: db.url,
      max: 6,
      ...(schema ? { options: `-c search_path=${schema}` } : {}),
    });
    pools.push(created);
    return created;
  };

  beforeAll(async () => {
    db = await startEmbeddedDatabase({
      templateFile: path.join(EMBEDDED_HOME, 'template.tar'),
      deadlockAfterMs: 300,
      borrowAfterMs: 20,
    });
    await pool().query('create schema one; create schema two');
  });
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end()));
    await db?.stop();
  });

  it('each connection works in the schema its startup options name, whatever ran before it', async () => {
    const [one, two] = [pool('one'), pool('two')];
    await one.query('create table t (n int)');
    await two.query('create table t (n int, extra text)');
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 ? one : two).query('insert into t (n) values ($1)', [i]),
      ),
    );
    const sums = async (p: pg.Pool) =>
      (await p.query<{ s: string }>('select sum(n)::text as s from t')).rows[0]?.s;
    // odd numbers below 40 in one, even ones in two
    expect([await sums(one), await sums(two)]).toEqual(['400', '380']);
  });

  it("parameterised queries from many connections at once each get their own statement's rows", async () => {
    const p = pool();
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        p.query<{ a: number; b: string }>('select $1::int as a, $2::text as b', [i, `v${i}`]),
      ),
    );
    expect(answers.map((r) => r.rows[0])).toEqual(
      Array.from({ length: 60 }, (_, i) => ({ a: i, b: `v${i}` })),
    );
  });

  it('a transaction is not seen by others before its commit; their statements wait for it', async () => {
    const p = pool('one');
    await p.query('create table seen (n int)');
    const owner = await p.connect();
    try {
      await owner.query('begin');
      await owner.query('insert into seen values (1)');
      let counted: number | undefined;
      const other = p.query<{ c: number }>('select count(*)::int as c from seen').then((r) => {
        counted = r.rows[0]?.c;
      });
      await owner.query('insert into seen values (2)'); // the owner goes on while the other waits
      expect(counted).toBeUndefined();
      await owner.query('commit');
      await other;
      expect(counted).toBe(2);
    } finally {
      owner.release();
    }
  });

  it('a version check still races: two single statements interleave, one wins', async () => {
    const p = pool('one');
    await p.query('create table doc (id int primary key, version int)');
    await p.query('insert into doc values (1, 1)');
    const updates = await Promise.all(
      [0, 1].map(() => p.query('update doc set version = 2 where id = 1 and version = 1')),
    );
    expect(updates.map((r) => r.rowCount).sort()).toEqual([0, 1]);
  });

  it('NOTIFY reaches the connection that LISTENs, not the one that notified', async () => {
    const listener = new pg.Client({ connectionString: db.url });
    await listener.connect();
    try {
      const heard: string[] = [];
      listener.on('notification', (n) => heard.push(`${n.channel}:${n.payload}`));
      await listener.query('listen outbox_pending');
      const notifier = new pg.Client({ connectionString: db.url });
      const notifierHeard: string[] = [];
      notifier.on('notification', (n) => notifierHeard.push(n.payload ?? ''));
      await notifier.connect();
      await notifier.query("select pg_notify('outbox_pending', 'orders')");
      await notifier.end();
      await waitFor(() => heard.length > 0, { timeoutMs: 5_000, what: 'the notification' });
      expect(heard).toEqual(['outbox_pending:orders']);
      expect(notifierHeard).toEqual([]);
    } finally {
      await listener.end();
    }
  });

  it('a statement the owner of a transaction waits for runs as if on its own: kept when the owner rolls back', async () => {
    const p = pool('one');
    await p.query('create table outside (n int); create table inside (n int)');
    const owner = await p.connect();
    try {
      await owner.query('begin');
      await owner.query('insert into inside values (1)');
      // Inside the transaction, a write through the pool (another connection): on one session
      // this would wait for the transaction, which waits for it.
      await p.query('insert into outside values (1)');
      await owner.query('rollback');
    } finally {
      owner.release();
    }
    const count = async (table: string) =>
      (await p.query<{ c: number }>(`select count(*)::int as c from ${table}`)).rows[0]?.c;
    expect({ inside: await count('inside'), outside: await count('outside') }).toEqual({
      inside: 0,
      outside: 1,
    });
    expect(db.stats().borrowed).toBeGreaterThan(0);
  });

  it('...and kept once when the owner commits', async () => {
    const p = pool('one');
    await p.query('create table once (n int)');
    const owner = await p.connect();
    try {
      await owner.query('begin');
      await p.query('insert into once values (1)');
      await owner.query('commit');
    } finally {
      owner.release();
    }
    expect((await p.query('select count(*)::int as c from once')).rows[0]?.c).toBe(1);
  });

  it('a second transaction the owner waits for gets a clear error, not a hang', async () => {
    const p = pool('one');
    await p.query('create table held (n int)');
    const owner = await p.connect();
    try {
      await owner.query('begin');
      await owner.query('insert into held values (1)');
      const error = await p.query('begin').catch((e: unknown) => e);
      expect((error as { code?: string }).code).toBe(EMBEDDED_DEADLOCK_CODE);
      expect(String(error)).toMatch(/one transaction at a time/);
      await owner.query('commit'); // the owner is unharmed
    } finally {
      owner.release();
    }
    expect((await p.query('select count(*)::int as c from held')).rows[0]?.c).toBe(1);
    expect(db.stats().deadlocks).toBeGreaterThan(0);
  });

  it('UNLISTEN on one connection leaves the others listening', async () => {
    const [a, b] = [
      new pg.Client({ connectionString: db.url }),
      new pg.Client({ connectionString: db.url }),
    ];
    await Promise.all([a.connect(), b.connect()]);
    try {
      const heard: string[] = [];
      a.on('notification', (n) => heard.push(n.payload ?? ''));
      await a.query('listen shared_channel');
      await b.query('listen shared_channel');
      await b.query('unlisten shared_channel');
      await b.query("select pg_notify('shared_channel', 'still here')");
      await waitFor(() => heard.length > 0, { timeoutMs: 5_000, what: 'the notification' });
      expect(heard).toEqual(['still here']);
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
  });

  it("a SET search_path of one connection does not leak into another's statements", async () => {
    const [one, two] = [pool('one'), pool('two')];
    await one.query('create table whose (v text)');
    await two.query('create table whose (v text)');
    await one.query("insert into whose values ('one')");
    await two.query("insert into whose values ('two')");
    const setter = await one.connect();
    try {
      await setter.query('set search_path to two');
      expect((await two.query<{ v: string }>('select v from whose')).rows).toEqual([{ v: 'two' }]);
      expect((await one.query<{ v: string }>('select v from whose')).rows).toEqual([{ v: 'one' }]);
    } finally {
      await setter.query('reset search_path');
      setter.release();
    }
  });

  it('COPY FROM STDIN is refused with a clear error, and the server goes on', async () => {
    const p = pool('one');
    await p.query('create table copied (v text)');
    const error = await p.query('copy copied from stdin').catch((e: unknown) => e);
    expect(String(error)).toMatch(/COPY … FROM STDIN is not supported by the embedded database/);
    expect((await p.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
  });

  it('bytes that are not the protocol end that connection, not the server', async () => {
    const socket = net.connect(db.port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0]));
    await closed;
    expect((await pool().query('select 1 as one')).rows).toEqual([{ one: 1 }]);
  });

  it('a statement that locks rows is not run inside another transaction', async () => {
    const p = pool('one');
    await p.query('create table queued (id int)');
    const owner = await p.connect();
    try {
      await owner.query('begin');
      await owner.query('insert into queued values (1)'); // not committed: nobody else may take it
      const taken = await p
        .query(
          'delete from queued where id in (select id from queued for update skip locked) returning id',
        )
        .catch((e: unknown) => e);
      expect((taken as { code?: string }).code, 'it waited, and gave up saying why').toBe(
        EMBEDDED_DEADLOCK_CODE,
      );
      await owner.query('rollback');
    } finally {
      owner.release();
    }
    expect((await p.query('select count(*)::int as c from queued')).rows[0]?.c).toBe(0);
  });

  it('a connection that goes away in the middle of a transaction is rolled back', async () => {
    const p = pool('one');
    await p.query('create table gone (n int)');
    const client = new pg.Client({ connectionString: db.url, options: '-c search_path=one' });
    await client.connect();
    await client.query('begin');
    await client.query('insert into gone values (1)');
    await client.end();
    expect((await p.query('select count(*)::int as c from gone')).rows[0]?.c).toBe(0);
  });
});

describe('embedded database on disk', () => {
  it('keeps its data between runs', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pierogi-pglite-'));
    try {
      const first = await startEmbeddedDatabase({ dataDir: dir });
      const a = new pg.Client({ connectionString: first.url });
      await a.connect();
      await a.query("create table kept (v text); insert into kept values ('pierogi')");
      await a.end();
      await first.stop();

      const second = await startEmbeddedDatabase({ dataDir: dir });
      const b = new pg.Client({ connectionString: second.url });
      await b.connect();
      const { rows } = await b.query<{ v: string }>('select v from kept');
      await b.end();
      await second.stop();
      expect(rows).toEqual([{ v: 'pierogi' }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
