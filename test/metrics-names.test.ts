// The README's metrics table is shared/src/metrics.ts's METRICS, row for row: every metric with its
// type, labels and the processes that export it, and no row for a metric that does not exist.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { METRICS } from '@tandem/shared';
import { repoRoot } from '../apps/cli/src/processes.ts';

test("the README's metrics table lists every metric, its type, labels and processes, as shared/src/metrics.ts names them", () => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Metrics'), readme.indexOf('\n### ', readme.indexOf('### Metrics') + 1));
  const rows = section.split('\n').filter((l) => l.startsWith('| `tandem_')).map((l) => l.split(' | ').map((c) => c.replace(/^\| /, '').trim()));
  assert.ok(rows.length > 0, 'README.md has a ### Metrics section with a table');
  const expected = Object.values(METRICS).map((m) => [`\`${m.name}\``, m.type, m.labels.map((l) => `\`${l}\``).join(', ') || '—', m.on.join(', ')]);
  assert.deepEqual(rows.map((r) => r.slice(0, 4)), expected);
});
