/**
 * REDIS_URL may name several seed nodes of one Redis Cluster, comma-separated, sharing the scheme,
 * the credentials and the database: `redis://:PASSWORD@10.0.0.1:7000,10.0.0.2:7000`. Any one that
 * answers tells a client the rest of the cluster, so more seeds only help while some nodes are down.
 * WHATWG URLs refuse such a list, hence this parser: it splits the list and checks each node as a
 * URL of its own.
 */

export interface RedisSeed {
  host: string;
  port: number;
  /** This node alone, as a URL with the list's scheme, credentials and database. */
  url: string;
}

export interface RedisSeeds {
  tls: boolean;
  /** Decoded from the URL ('' when absent). */
  username: string;
  password: string;
  db: number;
  nodes: RedisSeed[];
}

/** The seed nodes of `url` (one for an ordinary URL); throws naming the problem, never the password. */
export function redisSeeds(url: string): RedisSeeds {
  const m = /^(rediss?:\/\/)([^/?#]*)(.*)$/i.exec(url.trim());
  const shown = () => url.replace(/\/\/[^/@]*@/, '//');
  if (!m) throw new Error(`REDIS_URL ${shown()}: use redis://HOST:PORT, or rediss://HOST:PORT for TLS`);
  const [, scheme, authority, rest] = m;
  // The credentials end at the last '@': a password's own '@' is percent-encoded, but be lenient.
  const at = authority.lastIndexOf('@');
  const auth = at >= 0 ? authority.slice(0, at + 1) : '';
  const hosts = authority.slice(at + 1).split(',');
  const nodes = hosts.map((hostPort, i) => {
    if (hostPort.trim() === '') throw new Error(`REDIS_URL ${shown()}: seed node ${i + 1} of ${hosts.length} is empty (write host:port,host:port)`);
    const nodeUrl = `${scheme}${auth}${hostPort.trim()}${rest}`;
    let u: URL;
    try {
      u = new URL(nodeUrl);
    } catch {
      throw new Error(`REDIS_URL ${shown()}: seed node "${hostPort}" is not a host or host:port`);
    }
    return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 6379), url: nodeUrl };
  });
  const first = new URL(nodes[0].url);
  const db = Number(first.pathname.slice(1) || 0);
  if (!Number.isInteger(db) || db < 0) throw new Error(`REDIS_URL ${shown()}: the path must be a database number, not "${first.pathname}"`);
  return {
    tls: scheme.toLowerCase() === 'rediss://',
    username: decodeURIComponent(first.username),
    password: decodeURIComponent(first.password),
    db,
    nodes,
  };
}

/**
 * The first seed, as a URL of its own: where a lone Redis is, and the address messages name. A URL
 * that is no seed list comes back as it is (config.ts has refused it already, or a probe will).
 */
export function firstSeed(url: string): string {
  try {
    return redisSeeds(url).nodes[0].url;
  } catch {
    return url;
  }
}
