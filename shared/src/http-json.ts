/**
 * JSON over HTTP between Tandem's own processes and from its clients: the masters' pings, the
 * client of the masters, the launcher's and the console's looks at the view service and /health.
 *
 * On kept-alive connections through node:http: with a keep-alive agent a small request costs a
 * fraction of what `fetch` costs, and a master pings ten times a second. No limit on sockets per
 * host: the console holds one long poll per open job page.
 *
 * https: URLs are verified (chain and host name) against Node's roots plus TANDEM_TLS_CA, if set
 * (shared/src/tls.ts); a failure that TLS explains is rejected as a TlsError saying what to set.
 */
import http from 'node:http';
import https from 'node:https';
import { authHeader } from './cluster-auth.ts';
import { TandemError, codeForStatus, errorOf } from './protocol.ts';
import { clientCa, explainNetworkError } from './tls.ts';

const httpAgent = new http.Agent({ keepAlive: true });
/** One https agent per trusted-CA file, made at the first https request (after the process read its configuration). */
const httpsAgents = new Map<string, https.Agent>();

function agentFor(protocol: string): http.Agent {
  if (protocol !== 'https:') return httpAgent;
  const path = process.env.TANDEM_TLS_CA ?? '';
  let agent = httpsAgents.get(path);
  if (!agent) {
    agent = new https.Agent({ keepAlive: true, ca: clientCa() });
    httpsAgents.set(path, agent);
  }
  return agent;
}

export interface JsonReply<T> {
  status: number;
  body: T;
}

export interface JsonRequest {
  /** Sent as JSON with POST; a GET when absent. */
  body?: unknown;
  /** The longest the connection may stay silent (long polls included). */
  timeoutMs: number;
  /** The cluster secret (TANDEM_SECRET), sent as a bearer token when set. */
  secret?: string;
}

/**
 * GETs `url` (or POSTs `body`) and parses the JSON answer, whatever its status. Rejects with the
 * network's error (its `code` says which: ECONNREFUSED, ...) on failures and timeouts, and with a
 * TandemError when the answer is not JSON.
 */
export function requestJson<T>(url: string, req: JsonRequest): Promise<JsonReply<T>> {
  return new Promise((resolve, rejectRaw) => {
    const reject = (err: Error) => rejectRaw(explainNetworkError(url, err, !r.reusedSocket));
    const u = new URL(url);
    const data = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
    const transport = u.protocol === 'https:' ? https : http;
    let agent: http.Agent;
    try {
      agent = agentFor(u.protocol);
    } catch (err) {
      // An unreadable TANDEM_TLS_CA: said with the variable and the file.
      rejectRaw(err);
      return;
    }
    const r = transport.request(
      {
        agent,
        // An IPv6 literal comes bracketed in a URL, not in a host name.
        host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port || undefined, path: u.pathname + u.search,
        method: data ? 'POST' : 'GET',
        headers: { ...authHeader(req.secret), ...(data ? { 'content-type': 'application/json', 'content-length': data.length } : {}) },
        timeout: req.timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({ status, body: JSON.parse(text) as T });
          } catch {
            rejectRaw(new TandemError(status >= 400 ? codeForStatus(status) : 'internal', `${url} answered ${status} with a non-JSON body: ${text.slice(0, 200)}`));
          }
        });
        res.on('error', reject);
      },
    );
    r.on('timeout', () => r.destroy(new Error(`${url} did not answer within ${req.timeoutMs} ms`)));
    r.on('error', reject);
    r.end(data);
  });
}

/** Like requestJson, but answers only a success's body: a refusal rejects with its TandemError. */
export async function fetchJson<T>(url: string, req: JsonRequest): Promise<T> {
  const { status, body } = await requestJson<T>(url, req);
  const refused = errorOf(status, body);
  if (refused) throw refused;
  return body;
}
