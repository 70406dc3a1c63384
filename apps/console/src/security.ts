/**
 * The console's guards.
 *
 * - Token: with TANDEM_CONSOLE_TOKEN set, every page, API call and bull-board needs it, either as
 *   `Authorization: Bearer <token>` (scripts) or as a login session (sessions.ts): the login form
 *   sets a cookie (HttpOnly, SameSite=Strict, Secure when the request came over TLS) holding a random
 *   session id, never the token, and logout revokes it. Without a token the console is open, which
 *   is why it listens on 127.0.0.1 unless told otherwise.
 * - Cross-site requests: a state-changing request (anything but GET/HEAD) that a browser sends
 *   must come from the console's own pages (Sec-Fetch-Site or Origin), and, to the console's own
 *   routes, carry the page's form token (a form field or the X-CSRF-Token header): the session's own
 *   one, or, on an open console, one drawn at start. A multipart upload's body is not read here:
 *   without the header, its `_csrf` field is checked by the upload before the file is stored. A request with the bearer token is a script's
 *   and needs neither; so does one without any browser header when no token is set (curl against an
 *   open console).
 * - Headers: no sniffing, no framing, no referrer to other sites, and on the console's pages a
 *   Content-Security-Policy that allows only its own scripts and styles; bull-board, under
 *   /queues, gets one that also allows its inline styles, and nothing from another origin.
 *
 * `req.secure` is the socket's own TLS: the console trusts no X-Forwarded-* header, so a proxy in
 * front of it that ends TLS yields cookies without Secure.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { TandemError, errorBody } from '@tandem/shared';
import type { ConsoleSessions } from './sessions.ts';

export const COOKIE = 'tandem_console';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface Guard {
  /** Whether a token is required. */
  locked: boolean;
  /** The sessions of a locked console; null on an open one. */
  sessions: ConsoleSessions | null;
  checkToken(given: string): boolean;
  /** The form token of an open console's pages, drawn at start. */
  openCsrf: string;
}

/** How a request proved itself, and the form token its pages carry. */
export interface Auth {
  via: 'open' | 'bearer' | 'session';
  csrf: string;
  /** The session's id, for logout. */
  sessionId?: string;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Whether a given form token (or anything else a body carried) is the expected one, in constant time. */
export const tokenMatches = (given: unknown, want: string): boolean => typeof given === 'string' && want !== '' && same(given, want);

export function makeGuard(token: string | undefined, sessions: ConsoleSessions): Guard {
  return {
    locked: token !== undefined,
    sessions: token !== undefined ? sessions : null,
    checkToken: (given) => token !== undefined && same(given, token),
    openCsrf: randomBytes(32).toString('base64url'),
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

/** How the request proved itself, or null: the bearer token, a live session, or an open console. */
export async function authOf(g: Guard, req: Request): Promise<Auth | null> {
  const bearer = /^Bearer (.+)$/i.exec(req.get('authorization') ?? '')?.[1];
  if (bearer !== undefined && g.checkToken(bearer.trim())) return { via: 'bearer', csrf: '' };
  if (!g.sessions) return { via: 'open', csrf: g.openCsrf };
  const id = cookies(req)[COOKIE];
  const s = id === undefined ? null : await g.sessions.find(id);
  return s ? { via: 'session', csrf: s.csrf, sessionId: s.id } : null;
}

/** The Auth the guard found for this request (null on an open path without credentials). */
export const authOfResponse = (res: Response): Auth | null => (res.locals.auth as Auth | null | undefined) ?? null;

export function securityHeaders(req: Request, res: Response, next: NextFunction): void {
  res.set('X-Content-Type-Options', 'nosniff');
  res.set('X-Frame-Options', 'DENY');
  res.set('Referrer-Policy', 'same-origin');
  if (!req.path.startsWith('/queues')) {
    res.set('Content-Security-Policy', "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'");
  } else {
    // bull-board's page sets a <base> and styles elements inline; its scripts are files.
    res.set('Content-Security-Policy', "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; font-src 'self' data:; script-src 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'");
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
 * form and the static files) are served to anyone. On a `streamed` request (a multipart upload,
 * whose body is not read here) a form token the headers lack is left to the route, as
 * `res.locals.formToken`: it must find it in the body before it keeps anything (upload.ts).
 */
export function guardRequests(g: Guard, open: (path: string) => boolean, streamed: (req: Request) => boolean = () => false) {
  return (req: Request, res: Response, next: NextFunction): void => {
    authOf(g, req).then((auth) => check(g, open, streamed, auth, req, res, next), next);
  };
}

function check(g: Guard, open: (path: string) => boolean, streamed: (req: Request) => boolean, auth: Auth | null, req: Request, res: Response, next: NextFunction): void {
  res.locals.auth = auth;
  const api = req.path.startsWith('/api/') || req.path.startsWith('/queues/api/');
  if (!auth && !open(req.path)) {
    // Logging out of a session that already ended: nothing to revoke, only a dead cookie to drop.
    if (req.path === '/logout' && req.method === 'POST') {
      res.set('Set-Cookie', clearedCookie).redirect(303, '/login');
      return;
    }
    if (api || !SAFE.has(req.method)) {
      refuse(res, new TandemError('unauthorized', 'this console needs its token: log in at /login (your session may have ended or been logged out), or send Authorization: Bearer <token>'));
    } else {
      res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
    }
    return;
  }
  if (SAFE.has(req.method) || auth?.via === 'bearer') return next();
  if (crossSite(req)) {
    refuse(res, new TandemError('forbidden', 'refused a cross-site request: the console accepts changes only from its own pages'));
    return;
  }
  // bull-board's own page sends its changes without our token; the same-origin check covers it.
  if (req.path.startsWith('/queues') || req.path === '/login') return next();
  if (auth?.via === 'session' || fromBrowser(req)) {
    const given = req.get('x-csrf-token') ?? (req.body as Record<string, unknown> | undefined)?._csrf;
    if (given === undefined && auth && streamed(req)) {
      res.locals.formToken = auth.csrf;
      return next();
    }
    if (!auth || typeof given !== 'string' || !same(given, auth.csrf)) {
      refuse(res, new TandemError('forbidden', 'missing or stale form token: reload the page and try again'));
      return;
    }
  }
  next();
}

/** A `next` target after login: a path on this console, nothing else. */
export function localPath(next: unknown): string {
  return typeof next === 'string' && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/';
}

export function sessionCookie(id: string, maxAgeS: number, secure: boolean): string {
  return `${COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeS}${secure ? '; Secure' : ''}`;
}

export const clearedCookie = `${COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`;
