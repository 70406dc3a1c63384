/**
 * JSON over HTTP between Tandem's own processes (the masters' pings to the view service), on
 * kept-alive connections: node:http with a keep-alive agent costs a fraction of `fetch` per small
 * request, and a master pings ten times a second.
 */
import http from 'node:http';

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

export interface JsonReply<T> {
  status: number;
  body: T;
}

/** POSTs `body` as JSON (or GETs when body is undefined) and parses the JSON answer. Rejects on network errors and timeouts. */
export function requestJson<T>(url: string, body: unknown, timeoutMs: number): Promise<JsonReply<T>> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request(
      {
        agent, host: u.hostname, port: u.port || 80, path: u.pathname + u.search,
        method: data ? 'POST' : 'GET',
        headers: data ? { 'content-type': 'application/json', 'content-length': data.length } : {},
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as T });
          } catch {
            reject(new Error(`${url} answered ${res.statusCode} with a non-JSON body: ${text.slice(0, 200)}`));
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${url} did not answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(data);
  });
}
