/**
 * The PageRank job type (issue 4). Two setup rounds build per-partition adjacency with integer ids
 * (build.ts); the second one's reduce task q also sends partition q's first contributions (ranks
 * 1/N). From round 0's reduce on the rounds are chained (RoundPlan.chainFrom): round 0's reduce
 * sends round 1 its inputs, and each iteration is one reduce task
 * per partition that gathers what was sent to its nodes, computes their new ranks and the L1 change,
 * and scatters the next contributions (iterate.ts). So an iteration moves Float64 arrays only, and
 * costs one barrier. Each task reads its partition's old ranks and the other partitions' blobs, and
 * writes its new ranks and a blob for each other partition. The output round writes `node,rank` lines, rank descending, ties by node id,
 * after a `node,rank` header.
 *
 * Round statistics, summed by the master: `nodes` (N; every reduce task reports its partition's, so
 * the next round knows N), `edges` (round 1: distinct edges), `delta` (the iteration's L1 change) and
 * `dangling` (rank mass of nodes without out-edges, spread evenly in the iteration: reduce task r
 * reports the mass its namesake sender r put in its header).
 */
import { missingJobData, paramSchema, type IterativeJobType, type ParamsOf, type IterativeMapContext, type IterativeReduceContext, type RoundContext } from '@tandem/shared';
import {
  ADJ_HEADER, BlobError, adjacencyHash, decodeAdjacency, decodeContribution, decodeRanks, encodeRanks, type Adjacency,
} from './blobs.ts';
import { buildAdjacency, numberNodes, partitionEdges } from './build.ts';
import { gather, scatter, selfContribution } from './iterate.ts';
import { rankedRecords } from './ranks-csv.ts';

/** Rounds before the first iteration. */
export const SETUP_ROUNDS = 2;
/** Round 0's reduce tasks already send round 1's inputs, so only round 0 has a map phase. */
const CHAIN_FROM = 0;
const ADJACENCY_ROUND = 1;

export const pagerankParams = paramSchema({
  iterations: { type: 'integer', default: 20, min: 1, max: 10_000, description: 'iterations at most' },
  damping: { type: 'number', default: 0.85, exclusiveMin: 0, exclusiveMax: 1, description: 'damping factor: the probability of following a link rather than jumping anywhere' },
  tol: { type: 'number', default: 1e-8, min: 0, description: 'stop once the L1 change between consecutive rank vectors is below this (0: run every iteration)' },
});

export type PageRankParams = ParamsOf<typeof pagerankParams>;

const where = (ctx: RoundContext<unknown>, task: string) => `PageRank round ${ctx.round} ${task}`;

/**
 * Partition q's adjacency, from this worker's cache when it holds that content (keyed by its hash).
 * Which hash a job's partition has is cached too: the adjacency never changes once built, so an
 * iteration on a warm worker reads nothing but ranks and contributions.
 */
async function adjacency(ctx: RoundContext<unknown>, q: number, blob?: Buffer, owned = false): Promise<Adjacency> {
  const what = `adjacency of partition ${q}`;
  const named = `pagerank-adjacency-of:${ctx.job}:${q}`;
  let hash = blob ? adjacencyHash(blob, what) : ctx.cache.get<string>(named);
  if (!hash) {
    const head = await ctx.readOutputHead(ADJACENCY_ROUND, q, ADJ_HEADER);
    if (!head) throw new BlobError(missingJobData(what));
    hash = adjacencyHash(head, what);
  }
  ctx.cache.set(named, hash, 128);
  const key = `pagerank-adjacency:${hash}`;
  const hit = ctx.cache.get<Adjacency>(key);
  if (hit) return hit;
  const full = blob ?? (await ctx.readOutput(ADJACENCY_ROUND, q));
  if (!full) throw new BlobError(missingJobData(what));
  const adj = decodeAdjacency(full, what, owned);
  if (adj.hash !== hash) throw new BlobError(`${what} changed while it was read`);
  if (adj.partitions !== ctx.partitions) throw new BlobError(`${what} has ${adj.partitions} partitions, the job ${ctx.partitions}`);
  ctx.cache.set(key, adj, adj.bytes);
  return adj;
}

/** N, which every round's reduce tasks report. */
function nodes(ctx: RoundContext<unknown>): number {
  const n = ctx.previousStats.nodes;
  if (!(n >= 1)) throw new BlobError(`the previous round reported ${n} nodes`);
  return n;
}

export const pagerank: IterativeJobType<PageRankParams> = {
  shape: 'iterative',
  name: 'pagerank',
  description: 'PageRank of an edge list; output a node,rank header, then node,rank lines by rank descending',
  formats: ['edges'],
  params: pagerankParams,
  // Every round after the first is one task per partition, so fewer partitions than workers leaves workers idle.
  partitions: 'per-worker',
  outputFormat: 'csv',
  rounds: (p) => ({ setup: SETUP_ROUNDS, iterations: p.iterations, tol: p.tol, chainFrom: CHAIN_FROM }),
  stages: { setup: 'building the graph', output: 'writing ranks' },

  map(input, ctx: IterativeMapContext<PageRankParams>) {
    if (ctx.round === 0) return partitionEdges(input, ctx);
    throw new BlobError(`round ${ctx.round} has no map phase (rounds after ${CHAIN_FROM} are chained)`);
  },

  async reduce(inputs, ctx: IterativeReduceContext<PageRankParams>) {
    const r = ctx.partition;
    if (ctx.round === 0) return await numberNodes(inputs, ctx.partitions, where(ctx, `reduce ${r}`));
    const N = nodes(ctx);
    if (ctx.round === ADJACENCY_ROUND) {
      if (!ctx.previousOutput) throw new BlobError(`node ids of partition ${r} (round 0's output) are gone`);
      const { output, stats } = await buildAdjacency(inputs, ctx.previousOutput, ctx.partitions, where(ctx, `reduce ${r}`));
      // The blob was made here: its hash needs no second check.
      const adj = await adjacency(ctx, r, output, true);
      const { outputs: next } = scatter(adj, r, new Float64Array(adj.n).fill(1 / N));
      return { output, next, records: adj.n, stats };
    }
    const what = where(ctx, `reduce ${r}`);
    if (!ctx.previousOutput) throw new BlobError(`${what}: the partition's previous output is gone`);
    // The first iteration follows the adjacency round; later ones follow an iteration's ranks.
    const first = ctx.round === SETUP_ROUNDS;
    const adj = await adjacency(ctx, r, first ? ctx.previousOutput : undefined);
    const old = first ? new Float64Array(adj.n).fill(1 / N) : decodeRanks(ctx.previousOutput, `${what}: previous ranks`);
    if (old.length !== adj.n) throw new BlobError(`${what}: ${old.length} previous ranks for ${adj.n} nodes`);
    // What the partition sent itself is recomputed here from its old ranks (see iterate.ts).
    const contributions = inputs.map((b, q) => {
      if (q === r) return selfContribution(adj, r, old);
      const c = decodeContribution(b, `${what}: contribution of sender ${q}`);
      if (c.values.length > adj.n) throw new BlobError(`${what}: sender ${q} sent ${c.values.length} values for ${adj.n} nodes`);
      return c;
    });
    const { ranks, delta } = gather(contributions, old, N, ctx.params.damping);
    const { outputs: next } = scatter(adj, r, ranks);
    return { output: encodeRanks(ranks), next, records: adj.n, stats: { nodes: adj.n, delta, dangling: contributions[r].dangling } };
  },

  async output(ctx) {
    const r = ctx.partition;
    if (!ctx.previousOutput) throw new BlobError(`final ranks of partition ${r} are gone`);
    const ranks = decodeRanks(ctx.previousOutput, `final ranks of partition ${r}`);
    const ids = (await adjacency(ctx, r)).ids();
    if (ids.length !== ranks.length) throw new BlobError(`partition ${r}: ${ranks.length} ranks for ${ids.length} nodes`);
    const { keys, lines } = rankedRecords(ranks, ids);
    // The header's key is empty, which sorts before every other key in the merged output.
    if (r === 0) {
      keys.unshift('');
      lines.unshift('node,rank');
    }
    return { keys, lines };
  },
};
