import { createServer } from 'node:net';

/** Ports this process has handed out: the OS may offer a port again before its taker listens on it. */
const handedOut = new Set<number>();

export async function freePort(): Promise<number> {
  for (;;) {
    const port = await anyFreePort();
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
}

/** A free port whose successor is free too (tandem up puts the second master on the next port). */
export async function freePortPair(): Promise<number> {
  for (;;) {
    const p = await freePort();
    const srv = createServer();
    const ok = await new Promise<boolean>((r) => {
      srv.once('error', () => r(false));
      srv.listen(p + 1, '127.0.0.1', () => srv.close(() => r(true)));
    });
    if (ok && !handedOut.has(p + 1)) {
      handedOut.add(p + 1);
      return p;
    }
  }
}

const portFree = (port: number) => new Promise<boolean>((r) => {
  const srv = createServer();
  srv.once('error', () => r(false));
  srv.listen(port, '127.0.0.1', () => srv.close(() => r(true)));
});

/**
 * A free port for a Redis Cluster node: below 55535, with its cluster bus port (port + 10000) free
 * too, since a node listens on both.
 */
export async function freeClusterPort(): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 25000);
    if (handedOut.has(port) || handedOut.has(port + 10000)) continue;
    if (!(await portFree(port)) || !(await portFree(port + 10000))) continue;
    handedOut.add(port);
    handedOut.add(port + 10000);
    return port;
  }
}

/**
 * The first of `count` consecutive free ports below 55535, each with its cluster bus port (+10000)
 * free too: where `tandem up --redis-cluster` puts its nodes, from REDIS_URL's port up.
 */
export async function freeClusterPortRange(count: number): Promise<number> {
  for (;;) {
    const first = 20000 + Math.floor(Math.random() * 25000);
    const ports = Array.from({ length: count }, (_, i) => first + i);
    if (ports.some((p) => handedOut.has(p) || handedOut.has(p + 10000))) continue;
    let free = true;
    for (const p of ports) if (!(await portFree(p)) || !(await portFree(p + 10000))) free = false;
    if (!free) continue;
    for (const p of ports) handedOut.add(p).add(p + 10000);
    return first;
  }
}

function anyFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until cond() is truthy; tests wait for conditions with generous deadlines, never fixed sleeps. */
export async function waitFor<T>(
  cond: () => T | Promise<T>,
  { timeoutMs = 30_000, intervalMs = 50, what = 'condition' }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    }
    await sleep(intervalMs);
  }
}
