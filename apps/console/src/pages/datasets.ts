/** The datasets page (list and upload form) and a page per dataset. */
import { bytes, type DatasetMeta } from '@tandem/shared';
import { html, type Html } from '../html.ts';
import { when } from './layout.ts';

/**
 * The list and the upload form: a plain multipart form that works without JavaScript (its fields,
 * the form token first, come before the file, as upload.ts requires); the page's script only adds
 * a progress bar. `problem`: why the last upload from the form was refused.
 */
export function datasetsPage(all: DatasetMeta[], maxBytes: number, csrf: string, problem?: string): Html {
  return html`<h1>Datasets</h1>
${all.length === 0 ? html`<p class="empty">No datasets yet: upload one below.</p>` : html`<table class="datasets">
<thead><tr><th>Name</th><th>Format</th><th>Size</th><th>Records</th><th>Splits</th><th>Uploaded</th></tr></thead>
<tbody>${all.map((d) => html`<tr><td><a href="/datasets/${encodeURIComponent(d.name)}">${d.name}</a></td><td>${d.format}</td>
  <td>${bytes(d.bytes)}</td><td>${d.records.toLocaleString('en')}</td><td>${d.splits}</td><td>${d.created.replace('T', ' ').slice(0, 19)}</td></tr>`)}</tbody>
</table>`}
<h2 id="upload">Upload a dataset</h2>
<form id="upload-form" class="form" method="post" action="/datasets" enctype="multipart/form-data" data-max="${maxBytes}">
  <input type="hidden" name="_csrf" value="${csrf}">
  <label>Name <input name="name" maxlength="128" pattern="[A-Za-z0-9][A-Za-z0-9_.\\-]{0,127}" title="letters, digits, _ . and -, starting with a letter or digit" placeholder="from the file name"></label>
  <label>Format <select name="format">
    <option value="auto">detect from the file name (.csv: edges, otherwise text)</option>
    <option value="text">text: one record per line</option>
    <option value="edges">edges: CSV src,dst (a graph)</option>
  </select></label>
  <label class="check"><input type="checkbox" name="replace" value="1"> replace the dataset of that name if there is one</label>
  <label>File <input type="file" name="file" required></label>
  <p class="hint">Up to ${bytes(maxBytes)}. The file streams straight into Redis; a file that is not what its format says is refused with the line that is wrong, and nothing is kept.</p>
  <button type="submit">Upload</button>
  <div class="upload-progress" hidden><progress max="100" value="0"></progress> <span class="pct">0%</span></div>
  ${problem === undefined ? html`<p class="result" role="status"></p>` : html`<p class="result error" role="alert">${problem}</p>`}
</form>`;
}

export function datasetPage(meta: DatasetMeta, head: string[], csrf: string): Html {
  return html`<h1>Dataset ${meta.name}</h1>
<div class="actions"><a class="button" href="/jobs/new?dataset=${encodeURIComponent(meta.name)}">Run a job on it</a>
<form method="post" action="/datasets/${encodeURIComponent(meta.name)}/delete" class="inline"><input type="hidden" name="_csrf" value="${csrf}"><button class="danger">Delete the dataset</button></form></div>
<table class="kv">
  <tr><th>Format</th><td>${meta.format}</td></tr>
  <tr><th>Size</th><td>${bytes(meta.bytes)} (${meta.bytes.toLocaleString('en')} bytes, as stored)</td></tr>
  <tr><th>Records</th><td>${meta.records.toLocaleString('en')} ${meta.format === 'edges' ? 'edges' : 'lines'}</td></tr>
  <tr><th>Splits</th><td>${meta.splits} of about ${bytes(meta.splitBytes)}</td></tr>
  <tr><th>Version</th><td><code>${meta.version}</code></td></tr>
  <tr><th>SHA-256 (stored)</th><td><code>${meta.sha256}</code></td></tr>
  ${meta.sourceSha256 ? html`<tr><th>SHA-256 (as uploaded)</th><td><code>${meta.sourceSha256}</code></td></tr>` : ''}
  <tr><th>Uploaded</th><td>${when(Date.parse(meta.created))}</td></tr>
</table>
<h2>First ${head.length} records</h2>
<pre class="head">${head.map((l) => (meta.format === 'edges' ? l.replace('\t', ' → ') : l)).join('\n')}</pre>`;
}

/**
 * The question a delete asks first (a page, so it works without JavaScript): the dataset's delete
 * form posts here without `confirm`, and only this page's form, with `confirm=yes`, deletes it.
 */
export function deleteDatasetPage(meta: DatasetMeta, csrf: string): Html {
  return html`<h1>Delete dataset ${meta.name}?</h1>
<p>${meta.format}, ${meta.records.toLocaleString('en')} ${meta.format === 'edges' ? 'edges' : 'lines'}, ${bytes(meta.bytes)}, uploaded ${when(Date.parse(meta.created))}.
Its data is deleted from Redis: jobs reading it now fail, and it cannot be undone.</p>
<div class="actions"><form method="post" action="/datasets/${encodeURIComponent(meta.name)}/delete" class="inline"><input type="hidden" name="_csrf" value="${csrf}"><input type="hidden" name="confirm" value="yes"><button class="danger">Yes, delete ${meta.name}</button></form>
<a class="button" href="/datasets/${encodeURIComponent(meta.name)}">No, keep it</a></div>`;
}
