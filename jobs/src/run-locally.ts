/**
 * Runs an iterative job type in this process, round by round the way the cluster does (the same
 * round plan, the same summed statistics and stopping rule as the master's state machine, the same
 * output order), with its blobs in a Map instead of Redis. For unit tests of iterative job types:
 * the kernel's logic can be checked without processes, and the cluster's tests then check the wiring.
 */
import { ContentCache, mergeSorted, type IterativeJobType, type RoundContext, type RoundStats } from '@tandem/shared';
import { parseParams } from './params.ts';

export interface LocalRun {
  /** The output, in order. */
  lines: string[];
  /** Every round but the output round, with its summed statistics. */
  rounds: { round: number; stats: RoundStats }[];
}

/** `splits` hold whole records as the dataset store keeps them (for `edges`: `src<TAB>dst` lines). */
export async function runLocally<P>(
  type: IterativeJobType<P>,
  params: Record<string, unknown>,
  splits: Buffer[],
  partitions: number,
  cache = new ContentCache(64 << 20),
): Promise<LocalRun> {
  const p = parseParams(type, params) as P;
  const plan = type.rounds(p);
  const outputs = new Map<string, Buffer>();
  const rounds: LocalRun['rounds'] = [];
  const context = (round: number, previousStats: RoundStats): RoundContext<P> => ({
    job: 'local', params: p, round, partitions, previousStats, cache,
    readOutput: async (r, q) => outputs.get(`${r}:${q}`) ?? null,
    readOutputHead: async (r, q, n) => outputs.get(`${r}:${q}`)?.subarray(0, n) ?? null,
  });
  let previousStats: RoundStats = {};
  /** What the previous round's chained reduce tasks sent each partition: sent[r][q]. */
  let sent: Buffer[][] | null = null;
  let round = 0;
  for (;; round++) {
    const stats: RoundStats = {};
    const add = (s?: RoundStats) => {
      for (const [k, v] of Object.entries(s ?? {})) stats[k] = (stats[k] ?? 0) + v;
    };
    let shuffle: Buffer[][]; // shuffle[r][i]: what sender i sent partition r
    if (sent) shuffle = sent;
    else {
      const inputs = round === 0 ? splits : Array.from({ length: partitions }, (_, q) => outputs.get(`${round - 1}:${q}`)!);
      shuffle = Array.from({ length: partitions }, () => []);
      let firstRecord = 1;
      for (let i = 0; i < inputs.length; i++) {
        const res = await type.map(inputs[i], { ...context(round, previousStats), index: i, firstRecord, record: firstRecord });
        if (res.outputs.length !== partitions) throw new Error(`round ${round} map ${i} returned ${res.outputs.length} blobs for ${partitions} partitions`);
        res.outputs.forEach((b, r) => shuffle[r].push(b));
        add(res.stats);
        if (round === 0) firstRecord += inputs[i].toString('utf8').split('\n').length - 1;
      }
    }
    const chained = plan.chainFrom !== undefined && round >= plan.chainFrom;
    const next: Buffer[][] = Array.from({ length: partitions }, () => []);
    for (let r = 0; r < partitions; r++) {
      const previousOutput = outputs.get(`${round - 1}:${r}`) ?? null;
      const res = await type.reduce(shuffle[r], { ...context(round, previousStats), partition: r, previousOutput, chained });
      if (chained) {
        if (res.next?.length !== partitions) throw new Error(`round ${round} reduce ${r} chains but returned ${res.next?.length} next blobs`);
        res.next.forEach((b, q) => next[q].push(b));
      }
      outputs.set(`${round}:${r}`, res.output);
      add(res.stats);
    }
    sent = chained ? next : null;
    rounds.push({ round: round, stats });
    previousStats = stats;
    const converged = round >= plan.setup && stats.delta !== undefined && stats.delta < plan.tol;
    if (converged || round + 1 >= plan.setup + plan.iterations) break;
  }
  const parts = [];
  for (let r = 0; r < partitions; r++) {
    const ctx = { ...context(round + 1, previousStats), partition: r, previousOutput: outputs.get(`${round}:${r}`) ?? null, chained: false, lastRound: round };
    const { keys, lines } = await type.output(ctx);
    parts.push({ keys, values: lines });
  }
  const lines: string[] = [];
  mergeSorted(parts, (l) => lines.push(l));
  return { lines, rounds };
}
