// PageRank of a CSV edge list (src,dst; header optional) from your own code, with @tandem/client.
//
//   npm install <tandem checkout>/client
//   node pagerank-script.mjs graph.csv
//
// It finds the cluster as the tandem CLI does: TANDEM_VIEW_URL, TANDEM_SECRET (or the secret file
// of a local `tandem up`), REDIS_URL, TANDEM_PREFIX.
import { connect, TandemError } from '@tandem/client';

const file = process.argv[2];
if (!file) {
  console.error('usage: node pagerank-script.mjs FILE.csv');
  process.exit(2);
}

const tandem = connect();
try {
  const result = await tandem.pagerank(file, {
    onIteration: ({ iteration, delta }) => console.log(`iteration ${iteration}: L1 change ${delta}`),
  });
  console.log(`${result.nodes} nodes, ${result.edges} edges, ${result.converged ? 'converged' : 'stopped at the iteration limit'}`);
  result.ranks.slice(0, 10).forEach(({ node, rank }, i) => console.log(`${i + 1}. ${node} ${rank}`));
} catch (err) {
  // Every refusal has a code: invalid, unauthorized, not_found, conflict, unavailable, ...
  console.error(err instanceof TandemError ? `pagerank: ${err.code}: ${err.message}` : err);
  process.exitCode = 1;
} finally {
  await tandem.close();
}
