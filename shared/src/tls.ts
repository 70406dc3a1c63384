/**
 * TLS for every HTTP listener and every client of one (docs/DESIGN.md §7, "Transport").
 *
 * Listeners: with TANDEM_TLS_CERT and TANDEM_TLS_KEY (PEM files) set, the view service, the masters
 * (the replica channel's upgrade included) and the console serve HTTPS only, TLS 1.2 or later. The
 * files are read and checked at start (readable, PEM, the key belongs to the certificate); a bad
 * one ends the process with EXIT_CONFIG and a line naming the variable and the file.
 *
 * Clients: an https: URL is verified as always (chain and host name, never switched off). With
 * TANDEM_TLS_CA set, its certificates are trusted in addition to Node's bundled public roots
 * (Node's `ca` option replaces the roots, so they are passed along), so a private CA works and
 * public ones still do. A failed verification becomes a TlsError saying what to set.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';

/** What node:https's createServer needs beyond the request listener. */
export interface ServerTls {
  cert: string;
  key: string;
  minVersion: 'TLSv1.2';
}

export interface TlsSettings {
  TANDEM_TLS_CERT?: string;
  TANDEM_TLS_KEY?: string;
  TANDEM_TLS_CA?: string;
}

function readPem(variable: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`${variable}=${path}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

function parseCertificate(variable: string, path: string, pem: string): X509Certificate {
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`${variable}=${path}: not a PEM certificate (no "-----BEGIN CERTIFICATE-----" line)`);
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new Error(`${variable}=${path}: not a readable PEM certificate (${(err as Error).message})`);
  }
}

/**
 * The listener's certificate and key, checked, or undefined when TLS is off; also checks
 * TANDEM_TLS_CA, so a service finds a bad CA file at start rather than at its first request.
 * Throws an Error naming the variable and the file.
 */
export function loadTls(s: TlsSettings): ServerTls | undefined {
  if (s.TANDEM_TLS_CA) trustedCa(s.TANDEM_TLS_CA);
  if (!s.TANDEM_TLS_CERT || !s.TANDEM_TLS_KEY) return undefined;
  const cert = readPem('TANDEM_TLS_CERT', s.TANDEM_TLS_CERT);
  const key = readPem('TANDEM_TLS_KEY', s.TANDEM_TLS_KEY);
  const x509 = parseCertificate('TANDEM_TLS_CERT', s.TANDEM_TLS_CERT, cert);
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new Error(`TANDEM_TLS_KEY=${s.TANDEM_TLS_KEY}: not a readable PEM private key (${(err as Error).message})`);
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new Error(`TANDEM_TLS_KEY=${s.TANDEM_TLS_KEY} is not the private key of the certificate TANDEM_TLS_CERT=${s.TANDEM_TLS_CERT}`);
  }
  return { cert, key, minVersion: 'TLSv1.2' };
}

/** The scheme of the URLs a process builds from a host and port: https when it serves TLS. */
export function urlScheme(s: TlsSettings): 'http' | 'https' {
  return s.TANDEM_TLS_CERT ? 'https' : 'http';
}

const trusted = new Map<string, string[]>();

/**
 * The certificates an https client trusts with TANDEM_TLS_CA=path: Node's bundled roots and the
 * file's certificates (one or several PEM blocks). Read once per path.
 */
export function trustedCa(path: string): string[] {
  let ca = trusted.get(path);
  if (!ca) {
    try {
      const pem = readPem('TANDEM_TLS_CA', path);
      parseCertificate('TANDEM_TLS_CA', path, pem);
      ca = [...rootCertificates, pem];
    } catch (err) {
      // A TlsError, so that a client reports it at once instead of retrying through it.
      throw new TlsError((err as Error).message, 'ERR_TANDEM_TLS_CA');
    }
    trusted.set(path, ca);
  }
  return ca;
}

/** The `ca` option for an https request from this process: undefined (Node's defaults) without TANDEM_TLS_CA. */
export function clientCa(env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  const path = env.TANDEM_TLS_CA;
  return path ? trustedCa(path) : undefined;
}

/** A connection failure whose cause is TLS itself: retrying will not help, the configuration must change. */
export class TlsError extends Error {
  override name = 'TlsError';
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** OpenSSL's codes for a certificate the client does not trust. */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_UNTRUSTED', 'CERT_SIGNATURE_FAILURE', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID',
  'CERT_REVOKED', 'INVALID_CA', 'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
]);

/**
 * A network error from a request to `url`, said in words when TLS explains it: a certificate not
 * trusted or naming another host, an https: URL to a plain listener (a TlsError: permanent), or an
 * http: URL whose new connection was closed unanswered, as a TLS listener does (same code, a hint
 * added: a crashed server closes connections too).
 */
export function explainNetworkError(url: string, err: Error, freshConnection = true): Error {
  if (err instanceof TlsError) return err;
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const origin = new URL(url).origin;
  if (UNTRUSTED.has(code)) {
    const why = code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID' ? 'certificate not valid now' : 'certificate not trusted';
    return new TlsError(`${origin}: ${why} (${err.message}); set TANDEM_TLS_CA to the CA that signed it`, code);
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new TlsError(`${origin}: the certificate does not name this host (${err.message}); use a host name the certificate lists, or a certificate that lists it`, code);
  }
  // OpenSSL's reason when the first bytes back are no TLS record (a plain HTTP listener's answer).
  const notTls = code === 'EPROTO' ? /wrong version number|packet length too long|unknown protocol/.exec(err.message) : null;
  if (notTls) {
    return new TlsError(`${origin}: the server does not speak TLS (${notTls[0]}); use an http:// URL, or turn TLS on there (TANDEM_TLS_CERT, TANDEM_TLS_KEY)`, code);
  }
  // A kept-alive connection closed under a request is the usual race, not a TLS listener.
  if (url.startsWith('http:') && code === 'ECONNRESET' && freshConnection) {
    const e = new Error(`${origin}: the connection was closed without an answer (${err.message}); if that server has TLS on, use an https:// URL`) as NodeJS.ErrnoException;
    e.code = code;
    return e;
  }
  return err;
}
