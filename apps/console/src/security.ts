/**
 * The console's guards.
 *
 * - Token: with TANDEM_CONSOLE_TOKEN set, every page, API call and bull-board needs it, either as
 *   `Authorization: Bearer <token>` (scripts) or as the session cookie the login form sets
 *   (HttpOnly, SameSite=Strict; its value is an HMAC of the token, never the token itself). Without
 *   a token the console is open, which is why it listens on 127.0.0.1 unless told otherwise.
 * - Cross-site requests: a state-changing request (anything but GET/HEAD) that a browser sends
 *   must come from the console's own pages (Sec-Fetch-Site or Origin), and, to the console's own
 *   routes, carry the page's CSRF token (a form field or the X-CSRF-Token header). A request with
 *   the bearer token is a script's and needs neither; so does one without any browser header when
 *   no token is set (curl against an open console).
 * - Headers: no sniffing, no framing, no referrer to other sites, and on the console's pages a
 *   Content-Security-Policy that allows only its own scripts and styles (bull-board, under
 *   /queues, brings its own inline bootstrap and is left without it).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { TandemError, errorBody } from '@tandem/shared';

export const COOKIE = 'tandem_console';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface Guard {
  /** Whether a token is required. */
  locked: boolean;
  /** The CSRF token the console's pages carry. */
  csrf: string;
  /** The session cookie's value for a correct token. */
  session: string;
  checkToken(given: string): boolean;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function makeGuard(token: string | undefined): Guard {
  // Derived from the token when there is one, so sessions and open pages survive a console restart.
  const secret = token ? createHash('sha256').update(`tandem-console:${token}`).digest() : randomBytes(32);
  const mac = (what: string) => createHmac('sha256', secret).update(what).digest('base64url');
  return {
    locked: token !== undefined,
    csrf: mac('csrf'),
    session: mac('session'),
    checkToken: (given) => token !== undefined && same(given, token),
  };
}

function cookies(req: Request): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq).trim()] = decodeURIComponent(part.slice(eq + 1).trim());
  }
  return out;
}

/** How the request proved itself: 'open' (no token set), 'bearer', 'cookie', or null. */
export function authOf(g: Guard, req: Request): 'open' | 'bearer' | 'cookie' | null {
  const bearer = /^Bearer (.+)$/i.exec(req.get('authorization') ?? '')?.[1];
  if (bearer !== undefined && g.checkToken(bearer.trim())) return 'bearer';
  if (!g.locked) return 'open';
  const c = cookies(req)[COOKIE];
  return c !== undefined && same(c, g.session) ? 'cookie' : null;
}

export function securityHeaders(req: Request, res: Response, next: NextFunction): void {
  res.set('X-Content-Type-Options', 'nosniff');
  res.set('X-Frame-Options', 'DENY');
  res.set('Referrer-Policy', 'same-origin');
  if (!req.path.startsWith('/queues')) {
    res.set('Content-Security-Policy', "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'");
  }
  next();
}

/** Whether a browser sent this from another site (or a page we did not serve). */
function crossSite(req: Request): boolean {
  const site = req.get('sec-fetch-site');
  if (site && site !== 'same-origin' && site !== 'none') return true;
  const origin = req.get('origin');
  return origin !== undefined && origin !== 'null' && origin !== `${req.protocol}://${req.get('host')}`;
}

const refuse = (res: Response, e: TandemError) => res.status(e.status).json(errorBody(e));

const fromBrowser = (req: Request) => req.get('origin') !== undefined || req.get('sec-fetch-site') !== undefined;

/**
 * Requires the token (when set) and turns away cross-site state changes. `open` paths (the login
 * form and the static files) are served to anyone.
 */
export function guardRequests(g: Guard, open: (path: string) => boolean) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const api = req.path.startsWith('/api/') || req.path.startsWith('/queues/api/');
    const auth = authOf(g, req);
    if (!auth && !open(req.path)) {
      if (api || !SAFE.has(req.method)) {
        refuse(res, new TandemError('unauthorized', 'this console needs its token: log in at /login, or send Authorization: Bearer <token>'));
      } else {
        res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
      }
      return;
    }
    if (SAFE.has(req.method) || auth === 'bearer') return next();
    if (crossSite(req)) {
      refuse(res, new TandemError('forbidden', 'refused a cross-site request: the console accepts changes only from its own pages'));
      return;
    }
    // bull-board's own page sends its changes without our token; the same-origin check covers it.
    if (req.path.startsWith('/queues') || req.path === '/login') return next();
    if (auth === 'cookie' || fromBrowser(req)) {
      const given = req.get('x-csrf-token') ?? (req.body as Record<string, unknown> | undefined)?._csrf;
      if (typeof given !== 'string' || !same(given, g.csrf)) {
        refuse(res, new TandemError('forbidden', 'missing or stale form token: reload the page and try again'));
        return;
      }
    }
    next();
  };
}

/** A `next` target after login: a path on this console, nothing else. */
export function localPath(next: unknown): string {
  return typeof next === 'string' && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/';
}

export function sessionCookie(g: Guard, secure: boolean): string {
  return `${COOKIE}=${encodeURIComponent(g.session)}; HttpOnly; SameSite=Strict; Path=/${secure ? '; Secure' : ''}`;
}

export const clearedCookie = `${COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`;
