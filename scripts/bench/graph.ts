/**
 * A generated directed graph for the PageRank benchmark: N nodes, about E edges, the same bytes for
 * the same seed. Out-degrees are geometric (mean E/N, so about a fifth of the nodes dangle, as in
 * web crawls); each edge's target is, with even odds, a uniformly random node or the target of a
 * random earlier edge (preferential attachment), which gives the skewed in-degrees of real graphs.
 */
import { createWriteStream, existsSync, mkdirSync, renameSync } from 'node:fs';
import { once } from 'node:events';
import { dirname } from 'node:path';

/** mulberry32: a small seeded PRNG, so the graph is the same on every machine. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function generateEdges(nodes: number, edges: number, seed = 1): [number, number][] {
  const rnd = prng(seed);
  const p = 1 / (1 + edges / nodes); // geometric out-degree with mean edges/nodes
  const out: [number, number][] = [];
  for (let u = 0; u < nodes; u++) {
    while (rnd() >= p) {
      const v = out.length > 0 && rnd() < 0.5 ? out[Math.floor(rnd() * out.length)][1] : Math.floor(rnd() * nodes);
      out.push([u, v]);
    }
  }
  return out;
}

/** Writes the graph as `src,dst` CSV with a header (once; an existing file is kept). Returns the path. */
export async function writeGraphCsv(path: string, nodes: number, edges: number, seed = 1): Promise<string> {
  if (existsSync(path)) return path;
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  const file = createWriteStream(tmp);
  file.write('src,dst\n');
  const all = generateEdges(nodes, edges, seed);
  for (let i = 0; i < all.length; i += 10_000) {
    const chunk = all.slice(i, i + 10_000).map(([u, v]) => `n${u},n${v}\n`).join('');
    if (!file.write(chunk)) await once(file, 'drain');
  }
  file.end();
  await once(file, 'finish');
  renameSync(tmp, path);
  return path;
}
