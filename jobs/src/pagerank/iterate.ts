/**
 * One PageRank iteration as array arithmetic (the definition is in reference.ts). Partition q
 * spreads each of its nodes' rank over the node's out-edges, summing what flows into each target
 * node per target partition (the combiner, done as array adds), and counts the rank of its dangling
 * nodes; partition r adds up what was sent to it and applies the damping and the evenly spread
 * dangling mass.
 *
 * What a partition sends itself is not shuffled: the receiver is the same partition one round
 * later, which reads its own ranks anyway (for the L1 change) and holds its own adjacency, so it
 * recomputes that part (selfContribution). With 2 partitions this halves the contribution traffic.
 */
import { contributionValues, newContribution, type Adjacency } from './blobs.ts';

/** Each node's rank divided by its out-degree, and the rank of the nodes without out-edges. */
function shares(adj: Adjacency, ranks: Float64Array): { share: Float64Array; dangling: number } {
  const { n, outDegree } = adj;
  const share = new Float64Array(n);
  let dangling = 0;
  for (let u = 0; u < n; u++) {
    const o = outDegree[u];
    if (o === 0) dangling += ranks[u];
    else share[u] = ranks[u] / o;
  }
  return { share, dangling };
}

function spread(into: Float64Array, { src, dst }: { src: Uint32Array; dst: Uint32Array }, share: Float64Array): void {
  for (let e = 0; e < src.length; e++) into[dst[e]] += share[src[e]];
}

/**
 * Partition `self`'s blobs for every partition: contributions and its dangling mass; the one for
 * itself carries the dangling mass only.
 */
export function scatter(adj: Adjacency, self: number, ranks: Float64Array): { outputs: Buffer[]; dangling: number } {
  const { share, dangling } = shares(adj, ranks);
  const outputs = adj.targets.map((t, q) => {
    if (q === self) return newContribution(0, dangling);
    const blob = newContribution(t.width, dangling);
    spread(contributionValues(blob), t, share);
    return blob;
  });
  return { outputs, dangling };
}

/** What partition `self`, with these ranks, sends itself (the blob scatter leaves empty). */
export function selfContribution(adj: Adjacency, self: number, ranks: Float64Array): { dangling: number; values: Float64Array } {
  const { share, dangling } = shares(adj, ranks);
  const values = new Float64Array(adj.targets[self].width);
  spread(values, adj.targets[self], share);
  return { dangling, values };
}

/**
 * The new ranks of a partition's n nodes from the contributions sent to it (its own included), and
 * their L1 distance from the old ranks. `nodes` is N, the whole graph's node count.
 */
export function gather(
  contributions: { dangling: number; values: Float64Array }[],
  old: Float64Array,
  nodes: number,
  damping: number,
): { ranks: Float64Array; delta: number } {
  const n = old.length;
  const sum = new Float64Array(n);
  let dangling = 0;
  for (const c of contributions) {
    dangling += c.dangling;
    const v = c.values;
    for (let i = 0; i < v.length; i++) sum[i] += v[i];
  }
  const base = (1 - damping) / nodes + (damping * dangling) / nodes;
  let delta = 0;
  for (let i = 0; i < n; i++) {
    const x = base + damping * sum[i];
    delta += Math.abs(x - old[i]);
    sum[i] = x;
  }
  return { ranks: sum, delta };
}
