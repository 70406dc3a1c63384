/**
 * Hosts on Linux network namespaces, for the multi-host test (test/multihost.test.ts). Needs root
 * and iproute2's `ip`.
 *
 * Topology: every host is its own namespace; a "switch" namespace holds two bridges, and each host
 * has one veth pair into each bridge it is on (its end `data0` / `ctrl0`, the switch's end
 * `d-<host>` / `c-<host>`):
 *
 *   data network 10.A.B.0/25     redis, view, ma, mb, w1, w2, client, observer
 *   control network 10.A.B.128/25        view, ma, mb,         client, observer
 *
 * The masters ping the view service and stream to each other over the control network, and reach
 * Redis over the data network, so setting a master's `c-<host>` down at the switch cuts it off from
 * the view service and the other master while it still reaches Redis (and still answers on its
 * data address). The test process itself stays in the root namespace and joins both bridges as the
 * "observer" host (root interfaces `tdd<pid>` / `tdc<pid>`), to read Redis and call the services.
 * A.B come from the test's pid, so two runs never share a subnet in the root namespace.
 *
 * Cutting a link is `ip link set dev ... down` on the switch's end of it (the cable pulled at the
 * switch: the host's sockets see silence, not errors); a one-way loss is a blackhole route in a
 * host's namespace (`route`). Namespace names are `tdm<pid>-<host>`: `removeLeftovers` deletes those
 * of runs whose process is gone, and `destroy` (also run on exit and on SIGINT/SIGTERM/SIGHUP)
 * kills every process started here and deletes every namespace and interface this run made.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { repoRoot } from '../../apps/cli/src/processes.ts';

export type NetName = 'data' | 'ctrl';
export type HostName = 'redis' | 'view' | 'ma' | 'mb' | 'w1' | 'w2' | 'client';

/** Each host's networks and the last byte of its addresses (control: 128 more). */
const HOSTS: Record<HostName, { nets: NetName[]; n: number }> = {
  redis: { nets: ['data'], n: 1 },
  view: { nets: ['data', 'ctrl'], n: 2 },
  ma: { nets: ['data', 'ctrl'], n: 3 },
  mb: { nets: ['data', 'ctrl'], n: 4 },
  w1: { nets: ['data'], n: 5 },
  w2: { nets: ['data'], n: 6 },
  client: { nets: ['data', 'ctrl'], n: 7 },
};
const OBSERVER_N = 100;
const NS_PREFIX = 'tdm';

/** What this machine lacks to run the test (null: nothing). */
export function missingForNetns(): string | null {
  const needs = 'the multi-host test runs each process in its own Linux network namespace: it must run as root (it does `ip netns add`, `ip link add ... type veth`) with iproute2 installed (`apt-get install iproute2`; .ci/run installs it)';
  if (process.getuid?.() !== 0) return `${needs}; this process runs as uid ${process.getuid?.()}`;
  const r = spawnSync('ip', ['-V'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return `${needs}; \`ip\` is not on PATH (${r.error?.message ?? r.stderr})`;
  return null;
}

function ip(args: string[]): string {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(' ')} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

/** `ip`, ignoring failure (clean-up of what may already be gone). */
function ipQuiet(args: string[]): void {
  spawnSync('ip', args, { stdio: 'ignore' });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Deletes the namespaces and root interfaces of earlier runs whose test process is gone (SIGKILLed,
 * so it could not clean up), after killing what those runs started in them.
 */
export function removeLeftovers(): string[] {
  const removed: string[] = [];
  for (const line of ip(['netns', 'list']).split('\n')) {
    const name = line.split(' ')[0];
    const m = new RegExp(`^${NS_PREFIX}(\\d+)-`).exec(name);
    if (m && Number(m[1]) !== process.pid && !alive(Number(m[1]))) {
      for (const pid of spawnSync('ip', ['netns', 'pids', name], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
      }
      ipQuiet(['netns', 'del', name]);
      removed.push(name);
    }
  }
  for (const line of ip(['-o', 'link', 'show']).split('\n')) {
    const m = /^\d+: (td[dc](\d+))[@:]/.exec(line);
    if (m && Number(m[2]) !== process.pid && !alive(Number(m[2]))) {
      ipQuiet(['link', 'del', m[1]]);
      removed.push(m[1]);
    }
  }
  return removed;
}

export interface Netns {
  /** The host's address on a network. */
  addr(host: HostName | 'observer', net: NetName): string;
  ns(host: HostName): string;
  /** Every namespace this run made (the switch's included). */
  readonly namespaces: string[];
  /**
   * Starts `argv` in the host's namespace (`ip netns exec`, which execs: the child's pid is the
   * program's), its stderr (and stdout unless piped) to `logFile`.
   */
  spawn(host: HostName, argv: string[], env: NodeJS.ProcessEnv, logFile: string, opts?: { pipeStdio?: boolean }): ChildProcess;
  /** Sets the switch's end of the host's link on `net` down (cut) or up (restored). */
  link(host: HostName, net: NetName, state: 'up' | 'down'): void;
  /** Adds or deletes a blackhole route in the host's namespace toward `addr`: what it sends there is lost. */
  blackhole(host: HostName, addr: string, action: 'add' | 'del'): void;
  /** Kills every process started here, deletes every namespace and interface. Idempotent, synchronous (for exit handlers). */
  destroy(): void;
  /**
   * SIGKILLs every process and waits until they are gone, while the links still exist, so their
   * sockets close with a FIN or RST the observer's side sees (a kept-alive connection to a host
   * whose namespace vanished would hold the test process open forever); then `destroy`.
   */
  shutdown(): Promise<void>;
}

/** Builds the namespaces, bridges and links; registers the clean-up on exit and on signals. */
export function createNetns(): Netns {
  const pid = process.pid;
  const base = `10.${100 + (Math.floor(pid / 256) % 100)}.${pid % 256}`;
  const addr = (host: HostName | 'observer', net: NetName) => `${base}.${(host === 'observer' ? OBSERVER_N : HOSTS[host].n) + (net === 'ctrl' ? 128 : 0)}`;
  const nsOf = (host: HostName | 'sw') => `${NS_PREFIX}${pid}-${host}`;
  const sw = nsOf('sw');
  const rootIf = (net: NetName) => `td${net === 'data' ? 'd' : 'c'}${pid}`;
  const swIf = (host: HostName, net: NetName) => `${net === 'data' ? 'd' : 'c'}-${host}`;
  const bridge = (net: NetName) => (net === 'data' ? 'bdata' : 'bctrl');
  const namespaces: string[] = [];
  const procs: ChildProcess[] = [];
  let destroyed = false;

  const destroy = () => {
    if (destroyed) return;
    destroyed = true;
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    for (const ns of namespaces) ipQuiet(['netns', 'del', ns]);
    for (const net of ['data', 'ctrl'] as const) ipQuiet(['link', 'del', rootIf(net)]);
    process.off('exit', destroy);
    for (const s of SIGNALS) process.off(s, onSignal);
  };
  const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const onSignal = (s: NodeJS.Signals) => {
    destroy();
    process.exit(128 + ({ SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as Record<string, number>)[s]);
  };
  process.on('exit', destroy);
  for (const s of SIGNALS) process.on(s, onSignal);

  try {
    ip(['netns', 'add', sw]);
    namespaces.push(sw);
    ip(['-n', sw, 'link', 'set', 'lo', 'up']);
    for (const net of ['data', 'ctrl'] as const) {
      ip(['-n', sw, 'link', 'add', 'name', bridge(net), 'type', 'bridge']);
      ip(['-n', sw, 'link', 'set', bridge(net), 'up']);
    }
    for (const [host, spec] of Object.entries(HOSTS) as [HostName, (typeof HOSTS)[HostName]][]) {
      const ns = nsOf(host);
      ip(['netns', 'add', ns]);
      namespaces.push(ns);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      for (const net of spec.nets) {
        const dev = `${net}0`;
        ip(['link', 'add', 'name', dev, 'netns', ns, 'type', 'veth', 'peer', 'name', swIf(host, net), 'netns', sw]);
        ip(['-n', sw, 'link', 'set', swIf(host, net), 'master', bridge(net), 'up']);
        ip(['-n', ns, 'addr', 'add', `${addr(host, net)}/25`, 'dev', dev]);
        ip(['-n', ns, 'link', 'set', dev, 'up']);
      }
    }
    for (const net of ['data', 'ctrl'] as const) {
      ip(['link', 'add', 'name', rootIf(net), 'type', 'veth', 'peer', 'name', `${net[0]}-observer`, 'netns', sw]);
      ip(['-n', sw, 'link', 'set', `${net[0]}-observer`, 'master', bridge(net), 'up']);
      ip(['addr', 'add', `${addr('observer', net)}/25`, 'dev', rootIf(net)]);
      ip(['link', 'set', rootIf(net), 'up']);
    }
  } catch (err) {
    destroy();
    throw err;
  }

  return {
    addr,
    ns: nsOf,
    namespaces,
    spawn(host, argv, env, logFile, opts = {}) {
      const stdio: StdioOptions = opts.pipeStdio ? ['pipe', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe'];
      const p = spawn('ip', ['netns', 'exec', nsOf(host), ...argv], { cwd: repoRoot, env, stdio });
      const log = createWriteStream(logFile);
      p.stderr!.pipe(log);
      if (!opts.pipeStdio) p.stdout!.pipe(log);
      procs.push(p);
      return p;
    },
    link(host, net, state) {
      ip(['-n', sw, 'link', 'set', 'dev', swIf(host, net), state]);
    },
    blackhole(host, a, action) {
      ip(['-n', nsOf(host), 'route', action, 'blackhole', `${a}/32`]);
    },
    destroy,
    async shutdown() {
      await Promise.all(procs.map((p) => {
        if (p.exitCode !== null || p.signalCode !== null) return undefined;
        const gone = new Promise((r) => p.once('exit', r));
        p.kill('SIGKILL');
        return gone;
      }));
      destroy();
    },
  };
}
