// The containers' healthcheck (docker-compose.yml): exits 0 when the process on this container's
// PORT answers GET /health with 200, else 1. Plain JavaScript with no imports of Tandem's, so it
// runs in the image as it is.
//
// With TANDEM_TLS_CERT set the process serves only HTTPS, so the probe speaks TLS too. It checks
// the certificate's chain (Node's roots plus TANDEM_TLS_CA), but not its host name: the probe
// connects to 127.0.0.1 inside the container, which the certificate (naming the service's host)
// need not list. It sends nothing secret and believes nothing but the status code.
//
//   node scripts/healthcheck.mjs PORT
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port < 1) {
  process.stderr.write('usage: node scripts/healthcheck.mjs PORT\n');
  process.exit(2);
}
const tls = (process.env.TANDEM_TLS_CERT ?? '') !== '';
const ca = process.env.TANDEM_TLS_CA ? [...rootCertificates, readFileSync(process.env.TANDEM_TLS_CA, 'utf8')] : undefined;
const options = { host: '127.0.0.1', port, path: '/health', timeout: 2000, ...(tls ? { ca, checkServerIdentity: () => undefined } : {}) };
const req = (tls ? https : http).get(options, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on('timeout', () => req.destroy(new Error('timed out')));
req.on('error', (err) => {
  process.stderr.write(`healthcheck: 127.0.0.1:${port}: ${err.message}\n`);
  process.exit(1);
});
