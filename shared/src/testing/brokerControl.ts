import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Makes RabbitMQ itself close client connections (the way a broker restart or an operator
 * does), selected by the name the client gave its connection. Uses `rabbitmqctl` when this
 * machine has it (a native install), else the management API (docker-compose.yml enables it).
 * Returns how many connections it closed.
 */
export async function forceCloseConnections(amqpUrl: string, namePrefix: string): Promise<number> {
  if (await hasRabbitmqctl()) return closeWithRabbitmqctl(namePrefix);
  return closeWithManagementApi(amqpUrl, namePrefix);
}

/** Whether {@link forceCloseConnections} has a way to reach the broker here. */
export async function canForceCloseConnections(amqpUrl: string): Promise<boolean> {
  if (await hasRabbitmqctl()) return true;
  try {
    const response = await fetch(managementUrl(amqpUrl, '/api/overview'), {
      headers: authorization(amqpUrl),
      signal: AbortSignal.timeout(2_000),
    });
    return response.ok;
  } catch {
    return false;
  }
}

let rabbitmqctl: Promise<boolean> | undefined;
function hasRabbitmqctl(): Promise<boolean> {
  rabbitmqctl ??= run('rabbitmqctl', ['-q', 'list_connections', 'name'], { timeout: 15_000 }).then(
    () => true,
    () => false,
  );
  return rabbitmqctl;
}

async function closeWithRabbitmqctl(namePrefix: string): Promise<number> {
  // `user_provided_name` is not a column before RabbitMQ 3.11; client_properties always is.
  const { stdout } = await run(
    'rabbitmqctl',
    ['-q', '--no-table-headers', 'list_connections', 'pid', 'client_properties'],
    { timeout: 15_000 },
  );
  const pids = stdout
    .split('\n')
    .map((line) => line.split('\t'))
    .filter(([, properties]) => properties?.includes(`{"connection_name","${namePrefix}`))
    .map(([pid]) => pid as string);
  await Promise.all(
    pids.map((pid) =>
      run('rabbitmqctl', ['-q', 'close_connection', pid, 'closed by a resilience test'], {
        timeout: 15_000,
      }),
    ),
  );
  return pids.length;
}

async function closeWithManagementApi(amqpUrl: string, namePrefix: string): Promise<number> {
  const response = await fetch(managementUrl(amqpUrl, '/api/connections'), {
    headers: authorization(amqpUrl),
  });
  if (!response.ok) throw new Error(`management API answered ${response.status}`);
  const connections = (await response.json()) as { name: string; user_provided_name?: string }[];
  const chosen = connections.filter((c) => c.user_provided_name?.startsWith(namePrefix));
  await Promise.all(
    chosen.map((c) =>
      fetch(managementUrl(amqpUrl, `/api/connections/${encodeURIComponent(c.name)}`), {
        method: 'DELETE',
        headers: { ...authorization(amqpUrl), 'X-Reason': 'closed by a resilience test' },
      }),
    ),
  );
  return chosen.length;
}

function managementUrl(amqpUrl: string, path: string): string {
  const url = new URL(amqpUrl);
  return `http://${url.hostname}:15672${path}`;
}

function authorization(amqpUrl: string): Record<string, string> {
  const url = new URL(amqpUrl);
  const user = decodeURIComponent(url.username || 'guest');
  const password = decodeURIComponent(url.password || 'guest');
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}
