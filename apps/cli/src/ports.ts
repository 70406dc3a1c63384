import { createServer } from 'node:net';

/** Null when host:port can be listened on now, else why not (EADDRINUSE, EACCES, ...). */
export function portProblem(host: string, port: number): Promise<string | null> {
  return new Promise((done) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'EADDRINUSE' ? 'is already in use' : `cannot be listened on (${err.code ?? err.message})`));
    srv.listen(port, host.replace(/^\[|\]$/g, ''), () => srv.close(() => done(null)));
  });
}
