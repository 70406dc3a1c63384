/**
 * Generated directed graphs for the PageRank benchmarks, the same bytes for the same seed.
 *
 * writeGraphCsv: N nodes, about E edges. Out-degrees are geometric (mean E/N, so about a fifth of
 * the nodes dangle, as in web crawls); each edge's target is, with even odds, a uniformly random node or the target of a
 * random earlier edge (preferential attachment), which gives the skewed in-degrees of real graphs.
 *
 * writeRmatCsv: Graph500's Kronecker (R-MAT) graph, 2^scale vertices and 16 · 2^scale edges, each
 * edge chosen independently quadrant by quadrant with a=0.57, b=c=0.19, d=0.05, vertex labels then
 * permuted (as Graph500's generator does, so the hubs are not the small numbers). Self-loops and
 * repeated edges are kept, as Graph500 keeps them.
 */
import { createWriteStream, existsSync, mkdirSync, renameSync } from 'node:fs';
import { once } from 'node:events';
import { dirname } from 'node:path';

/** mulberry32: a small seeded PRNG, so the graph is the same on every machine. */
export function prng(seed: number): () => number {
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

export const RMAT = { a: 0.57, b: 0.19, c: 0.19, edgeFactor: 16 } as const;

/** Edges of the R-MAT graph of this scale (Graph500's edge factor). */
export const rmatEdges = (scale: number) => RMAT.edgeFactor * 2 ** scale;

/**
 * Writes the R-MAT graph of `scale` as `src,dst` CSV with a header (once; an existing file is kept),
 * streaming: it never holds the edge list, only the 2^scale permutation. Returns the path.
 */
export async function writeRmatCsv(path: string, scale: number, seed = 1): Promise<string> {
  if (existsSync(path)) return path;
  mkdirSync(dirname(path), { recursive: true });
  const rnd = prng(seed);
  const n = 2 ** scale;
  const label = new Uint32Array(n);
  for (let i = 0; i < n; i++) label[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [label[i], label[j]] = [label[j], label[i]];
  }
  const { a, b, c } = RMAT;
  const tmp = `${path}.tmp-${process.pid}`;
  const file = createWriteStream(tmp);
  file.write('src,dst\n');
  const total = rmatEdges(scale);
  const CHUNK = 50_000;
  for (let done = 0; done < total; done += CHUNK) {
    let text = '';
    for (let e = done; e < Math.min(total, done + CHUNK); e++) {
      let u = 0;
      let v = 0;
      for (let level = 0; level < scale; level++) {
        const r = rnd();
        u = u * 2 + (r >= a + b ? 1 : 0);
        v = v * 2 + ((r >= a && r < a + b) || r >= a + b + c ? 1 : 0);
      }
      text += `${label[u]},${label[v]}\n`;
    }
    if (!file.write(text)) await once(file, 'drain');
  }
  file.end();
  await once(file, 'finish');
  renameSync(tmp, path);
  return path;
}
