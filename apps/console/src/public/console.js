// Tandem console: small plain scripts over server-rendered pages. They swap in fresh fragments of
// the same pages (so every value stays escaped by the server), add a progress bar to uploads,
// and fit the new-job form to the chosen job type.
(() => {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const FINISHED = ['done', 'failed', 'cancelled'];

  async function swap(live) {
    const r = await fetch(live.dataset.fragment, { headers: { accept: 'text/html' } });
    if (r.status === 401 || r.redirected) {
      location.reload();
      return false;
    }
    if (!r.ok) return false;
    // Keep what the reader opened (the events list) open across the refresh.
    const open = [...live.querySelectorAll('details[id]')].filter((d) => d.open).map((d) => d.id);
    const closed = [...live.querySelectorAll('details[id]')].filter((d) => !d.open).map((d) => d.id);
    live.innerHTML = await r.text();
    for (const id of open) document.getElementById(id)?.setAttribute('open', '');
    for (const id of closed) document.getElementById(id)?.removeAttribute('open');
    return true;
  }

  // Pages that refresh on a timer (overview, jobs, cluster).
  for (const live of document.querySelectorAll('[data-fragment][data-every]')) {
    const every = Number(live.dataset.every) || 3000;
    (async () => {
      for (;;) {
        await sleep(every);
        if (document.hidden) continue;
        try {
          await swap(live);
        } catch {
          // the console restarted or the network dropped: try again at the next tick
        }
      }
    })();
  }

  // A job's page follows the job with long polls and refreshes its live part on every change.
  const job = document.querySelector('[data-job]');
  if (job) {
    (async () => {
      let version = Number(job.dataset.version);
      let finished = job.dataset.finished === '1';
      while (!finished) {
        try {
          const r = await fetch(`/api/jobs/${encodeURIComponent(job.dataset.job)}?after=${version}`);
          if (r.status === 401) return location.reload();
          if (!r.ok) {
            await sleep(2000);
            continue;
          }
          const s = await r.json();
          finished = FINISHED.includes(s.phase);
          if (s.version !== version || finished) {
            version = s.version;
            await swap(job);
            job.dataset.version = String(version);
            if (finished) job.dataset.finished = '1';
          }
        } catch {
          await sleep(2000);
          continue;
        }
        // At most about two refreshes a second, however fast the job changes.
        if (!finished) await sleep(500);
      }
    })();
  }

  // Upload: the form works without this (a multipart POST to /datasets); here the same multipart
  // body goes to /api/datasets through XMLHttpRequest, for the browser's upload progress.
  const upload = document.getElementById('upload-form');
  if (upload) {
    const field = (n) => upload.elements.namedItem(n);
    const bar = upload.querySelector('.upload-progress');
    const pct = upload.querySelector('.pct');
    const result = upload.querySelector('.result');
    const button = upload.querySelector('button[type="submit"]');
    const say = (text, bad) => {
      result.textContent = text;
      result.className = bad ? 'result error' : 'result ok';
      result.setAttribute('role', bad ? 'alert' : 'status');
    };
    field('file').addEventListener('change', () => {
      const file = field('file').files[0];
      if (!file || field('name').value) return;
      const stem = file.name.replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 120);
      field('name').value = /^[A-Za-z0-9]/.test(stem) ? stem : `d${stem}`;
    });
    upload.addEventListener('submit', (e) => {
      e.preventDefault();
      const file = field('file').files[0];
      if (!file) return say('Choose a file first.', true);
      const max = Number(upload.dataset.max);
      if (file.size > max) return say(`The file is ${file.size} bytes; this console accepts up to ${max} bytes per upload.`, true);
      // The form's own fields in its order (the token and the name before the file).
      const body = new FormData(upload);
      const xhr = new XMLHttpRequest();
      xhr.open('POST', '/api/datasets');
      xhr.setRequestHeader('X-CSRF-Token', csrf);
      bar.hidden = false;
      bar.querySelector('progress').value = 0;
      pct.textContent = '0%';
      button.disabled = true;
      say('Uploading…', false);
      xhr.upload.onprogress = (ev) => {
        if (!ev.lengthComputable) return;
        const p = Math.floor((ev.loaded / ev.total) * 100);
        bar.querySelector('progress').value = p;
        pct.textContent = `${p}%`;
        if (p === 100) say('Uploaded; checking and publishing…', false);
      };
      xhr.onload = () => {
        button.disabled = false;
        let body;
        try {
          body = JSON.parse(xhr.responseText);
        } catch {
          body = { error: `${xhr.status} ${xhr.statusText}` };
        }
        if (xhr.status === 201) {
          const d = body.dataset;
          say(`Uploaded dataset ${d.name}: ${d.format}, ${d.records} records in ${d.splits} split(s).`, false);
          setTimeout(() => (location.href = `/datasets/${encodeURIComponent(d.name)}`), 800);
        } else {
          bar.hidden = true;
          say(body.error ?? `upload failed (${xhr.status})`, true);
        }
      };
      xhr.onerror = () => {
        button.disabled = false;
        bar.hidden = true;
        say('The upload was cut off (connection lost); nothing was kept.', true);
      };
      xhr.send(body);
    });
  }

  // New job: show the chosen type's parameter fields, offer only datasets of a format it reads.
  const form = document.getElementById('new-job');
  if (form) {
    const type = document.getElementById('job-type');
    const dataset = document.getElementById('job-dataset');
    const fit = () => {
      const chosen = type.value;
      for (const fs of form.querySelectorAll('fieldset[data-for]')) {
        const on = fs.dataset.for === chosen;
        fs.hidden = !on;
        for (const input of fs.querySelectorAll('input')) input.required = on && input.hasAttribute('data-required');
      }
      const formats = (type.selectedOptions[0]?.dataset.formats ?? '').split(',');
      for (const o of dataset.options) o.disabled = !formats.includes(o.dataset.format);
      if (dataset.selectedOptions[0]?.disabled) {
        const first = [...dataset.options].find((o) => !o.disabled);
        if (first) first.selected = true;
      }
    };
    for (const fs of form.querySelectorAll('fieldset[data-for]')) {
      for (const input of fs.querySelectorAll('input[data-required]')) input.removeAttribute('required');
    }
    type.addEventListener('change', fit);
    fit();
  }
})();
