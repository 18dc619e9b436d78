/* sealroom console: a read-only view of the analysis service's REST API
 * (docs/openapi.json). Vanilla JS, no build step, no external resources.
 * Routes: #/consortia, #/approvals, #/approvals/<compose hash>, #/runs,
 * #/runs/<id>. Every value from the API is put into the page as text.
 * Views that show a run in progress re-read themselves every 2 s. */
'use strict';

(function () {
  const CRITERIA_LABELS = ['≥ 3 owners', 'multi-jurisdiction', 'HIPAA / GDPR-grade'];
  const CHECK_LABELS = {
    'format': 'receipt format and hashes',
    'payload-hash': 'payload hash',
    'payload-signature': 'payload signature (run key)',
    'quote-chain': 'TEE quote chain',
    'report-data': 'quote binds the run key',
    'rtmr3-replay': 'RTMR3 event log replay',
    'kms-certificate': 'KMS key-release certificate',
    'gate-approvals': 'gate approvals',
    'output-contract': 'declared outputs only',
  };
  const view = document.getElementById('view');
  let generation = 0; /* a newer navigation makes older renders stale */
  let consortiaCache = null;
  /* Run statuses that still change: a view showing one re-reads itself every
   * REFRESH_MS until none is left or the reader navigates away. */
  const LIVE = new Set(['queued', 'awaiting_approval', 'fetching', 'running']);
  const REFRESH_MS = 2000;
  let refreshTimer = null;

  /* ---- small helpers ------------------------------------------------- */

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  async function api(path) {
    const r = await fetch(path, { headers: { 'Accept': 'application/json' } });
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    if (!r.ok) {
      const msg = body && body.error ? (body.error.message || body.error) : r.statusText;
      const err = new Error(`${path}: HTTP ${r.status}${msg ? ' · ' + msg : ''}`);
      err.status = r.status;
      throw err;
    }
    return body;
  }

  function short(hex, n = 6) {
    if (typeof hex !== 'string') return '';
    return hex.length > 2 * n + 3 ? `${hex.slice(0, n + 2)}…${hex.slice(-n)}` : hex;
  }

  function fmtCount(n) {
    if (typeof n !== 'number' || !isFinite(n)) return '—';
    if (n >= 1e9) return (n / 1e9).toFixed(n >= 1e10 ? 0 : 1).replace(/\.0$/, '') + 'B';
    if (n >= 1e6) return (n / 1e6).toFixed(n >= 1e7 ? 0 : 1).replace(/\.0$/, '') + 'M';
    if (n >= 1e4) return Math.round(n / 1e3) + 'k';
    return String(n);
  }

  function fmtNum(x) {
    if (x === null || x === undefined) return '—';
    if (typeof x !== 'number') return String(x);
    if (Number.isInteger(x)) return String(x);
    const a = Math.abs(x);
    if (a !== 0 && (a < 1e-3 || a >= 1e7)) return x.toExponential(3);
    return String(Number(x.toPrecision(6)));
  }

  function fmtTime(sec) {
    if (typeof sec !== 'number') return '';
    return new Date(sec * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  }

  function badge(kind, text, title) {
    return h('span', { class: `badge ${kind}`, title: title || null }, text || kind);
  }

  function scroller(label, table) {
    return h('div', { class: 'table-wrap', role: 'region', 'aria-label': label, tabindex: 0 }, table);
  }

  function errorBox(e) {
    return h('p', { class: 'error', role: 'alert' }, String(e && e.message ? e.message : e));
  }

  function copyable(text, label) {
    const pre = h('code', { class: 'cmd' }, text);
    const btn = h('button', {
      type: 'button', class: 'copy', 'aria-label': label || 'Copy command',
      onclick: () => {
        if (navigator.clipboard) navigator.clipboard.writeText(text).then(() => { btn.textContent = 'copied'; }, () => {});
      },
    }, 'copy');
    return h('div', { class: 'cmdline' }, pre, btn);
  }

  async function consortia() {
    if (!consortiaCache) consortiaCache = await api('/v1/consortia');
    return consortiaCache;
  }

  /* ---- consortia dashboard -------------------------------------------- */

  async function renderConsortia(gen) {
    const data = await consortia();
    if (gen !== generation) return;
    const list = data.consortia || [];
    const boxes = [0, 1, 2].map((i) => h('input', { type: 'checkbox', id: `crit-${i + 1}`, 'data-criterion': i + 1 }));
    const partial = h('input', { type: 'checkbox', id: 'crit-partial' });
    const filter = h('fieldset', { class: 'filter' },
      h('legend', {}, 'show cohorts with'),
      boxes.map((b, i) => h('label', { for: b.id }, b, h('span', { class: 'crit' }, `criteria ${i + 1}`),
        ' ', CRITERIA_LABELS[i])),
      h('label', { for: partial.id, class: 'partial-opt' }, partial, 'count partial as met'));
    const tbody = h('tbody');
    for (const c of list) {
      if (c.error) {
        tbody.append(h('tr', { class: 'consortium', 'data-gate': c.gate },
          h('th', { scope: 'row' }, c.gate), h('td', { colspan: 6 }, errorBox(c.error))));
        continue;
      }
      const results = [0, 1, 2].map((i) => (c.criteria && c.criteria[i]) || { result: 'miss', detail: 'not evaluated' });
      const owners = c.owners || [];
      const row = h('tr', { class: 'consortium', 'data-name': c.name, 'data-status': c.status },
        h('th', { scope: 'row', class: 'name' },
          h('span', { class: 'cname' }, c.name),
          h('span', { class: 'meta' }, `${c.backend} · app ${short(c.app)} · k = ${c.threshold}`),
          h('details', { class: 'more' }, h('summary', {}, 'owners and criteria'),
            h('ul', {}, owners.map((o) => h('li', {}, h('strong', {}, o.id), ` · ${o.jurisdiction || '?'} · ${o.grades || '—'} `,
              h('code', { title: o.address }, short(o.address, 4))))),
            h('ul', {}, results.map((r, i) => h('li', {}, `criteria ${i + 1}: ${r.result} — ${r.detail || ''}`))))),
        h('td', { class: 'owners num', title: owners.map((o) => `${o.id} (${o.jurisdiction || '?'}; ${o.grades || '—'})`).join('\n') },
          String(owners.length)),
        h('td', { class: 'records num', title: `${c.records ?? 0} rows in ${c.datasets ?? 0} sealed dataset(s) seen by this service` },
          fmtCount(c.records ?? 0)),
        results.map((r, i) => h('td', { class: `criterion c${i + 1}`, 'data-result': r.result },
          badge(r.result, r.result, `${r.criterion || CRITERIA_LABELS[i]}: ${r.detail || ''}`))),
        h('td', { class: 'status' }, badge(c.status, c.status)));
      row._results = results.map((r) => r.result);
      tbody.append(row);
    }
    const table = h('table', { class: 'dashboard' },
      h('caption', {}, 'Consortia this service knows, with the product criteria'),
      h('thead', {}, h('tr', {},
        ['name', 'owners', 'records'].map((t) => h('th', { scope: 'col' }, t)),
        [1, 2, 3].map((i) => h('th', { scope: 'col', title: CRITERIA_LABELS[i - 1] }, `criteria ${i}`)),
        h('th', { scope: 'col' }, 'status'))),
      tbody);
    const empty = h('p', { class: 'muted', id: 'filter-empty', hidden: true }, 'No consortium meets every selected criterion.');
    const apply = () => {
      const need = boxes.map((b) => b.checked);
      const ok = partial.checked ? ['match', 'partial'] : ['match'];
      let shown = 0;
      for (const tr of tbody.rows) {
        const res = tr._results;
        const visible = !res || need.every((n, i) => !n || ok.includes(res[i]));
        tr.hidden = !visible;
        if (visible) shown++;
      }
      empty.hidden = shown !== 0;
    };
    for (const b of [...boxes, partial]) b.addEventListener('change', apply);
    const live = list.filter((c) => c.status === 'live').length;
    view.replaceChildren(
      h('h1', {}, 'Cross-silo cohorts'),
      h('p', { class: 'lede' }, `${list.length} consortia · ${live} live. Each consortium pins its recipes by compose hash; ` +
        'the KMS releases per-dataset keys only to an attested VM running an approved recipe.'),
      filter, scroller('Consortia', table), empty,
      h('p', { class: 'muted small' }, 'Match / partial / miss reflect the current state of each consortium\'s gate ' +
        '(owners, jurisdictions, grades) against the criteria. Records: rows of the newest signed manifest of each ' +
        'dataset this service has run on.'));
  }

  /* ---- approvals -------------------------------------------------------- */

  async function knownRecipes() {
    const runs = (await api('/v1/runs')).runs || [];
    const seen = new Map();
    for (const r of runs) if (!seen.has(r.compose_hash)) seen.set(r.compose_hash, r);
    return seen;
  }

  async function renderApprovalList(gen) {
    const seen = await knownRecipes();
    if (gen !== generation) return;
    const items = [...seen.values()].map((r) => h('li', {},
      h('a', { href: `#/approvals/${r.compose_hash}`, class: 'hash' }, r.compose_hash),
      ' ', h('span', { class: 'muted' }, `last run ${fmtTime(r.created)} · `), badge(r.status, r.status.replace('_', ' '))));
    const form = h('form', { class: 'lookup', onsubmit: (ev) => {
      ev.preventDefault();
      const v = input.value.trim();
      if (v) location.hash = `#/approvals/${v}`;
    } });
    const input = h('input', { id: 'hash-input', type: 'text', pattern: '(0x)?[0-9a-fA-F]{64}', required: true,
      spellcheck: 'false', autocomplete: 'off', placeholder: '0x… (64 hex digits)' });
    form.append(h('label', { for: 'hash-input' }, 'compose hash'), input, h('button', { type: 'submit' }, 'Open'));
    view.replaceChildren(h('h1', {}, 'Approval console'),
      h('p', { class: 'lede' }, 'Owners review the recipe behind a compose hash, then sign it on the gate. ' +
        'Keys are released only when the threshold of owners has signed and nobody revoked.'),
      form,
      h('h2', {}, 'Recipes submitted to this service'),
      items.length ? h('ul', { class: 'hashes' }, items) : h('p', { class: 'muted' }, 'No runs yet.'));
  }

  function recipeSummary(text) {
    let r;
    try { r = JSON.parse(text); } catch (e) { return h('p', { class: 'error' }, 'The recipe is not valid JSON.'); }
    const dl = h('dl', { class: 'summary' });
    const add = (k, ...v) => dl.append(h('dt', {}, k), h('dd', {}, ...v));
    if (r.consortium) add('consortium', `${r.consortium.name || '?'} · app ${short(r.consortium.app_id || '')}`);
    if (r.datasets) {
      add('datasets', h('ul', {}, Object.entries(r.datasets).map(([owner, d]) => h('li', {},
        h('strong', {}, owner), ': ', (d.schema || []).map((c) => `${c.name} ${c.type}`).join(', ')))));
    }
    if (r.analysis) add('analysis', h('code', {}, JSON.stringify(r.analysis)));
    if (Array.isArray(r.outputs)) {
      add('outputs', h('ul', {}, r.outputs.map((o) => {
        const p = o.privacy;
        const priv = p === 'none' ? 'no noise' : p ? `${p.mechanism}${p.epsilon !== undefined ? ', ε = ' + p.epsilon : ''}` +
          `${p.rho !== undefined ? ', ρ = ' + p.rho : ''}${p.clamp ? ', clamp [' + p.clamp.join(', ') + ']' : ''}` : '?';
        return h('li', {}, h('strong', {}, o.name), ` — ${o.type}${o.column ? ' of ' + o.column : ''}` +
          `${o.group_by ? ' by ' + o.group_by.map((g) => g.column).join(', ') : ''} (${priv})`);
      })));
    }
    if (r.privacy) {
      add('privacy', `ε = ${r.privacy.epsilon ?? '—'}` + (r.privacy.delta ? `, δ = ${r.privacy.delta}` : '') +
        (r.privacy.person_id ? ` · person id ${r.privacy.person_id}` : ''));
    }
    return dl;
  }

  async function renderApproval(gen, hash) {
    const hex = hash.startsWith('0x') ? hash : '0x' + hash;
    const [gate, seen, cons] = await Promise.all([
      api(`/v1/gate?compose_hash=${encodeURIComponent(hex)}`),
      knownRecipes(),
      consortia().catch(() => ({ consortia: [] })),
    ]);
    let recipe = null, run = seen.get(hex.toLowerCase()) || seen.get(hex);
    if (run) recipe = (await api(`/v1/runs/${encodeURIComponent(run.id)}`)).recipe;
    if (gen !== generation) return;
    const spec = (cons.consortia && cons.consortia[0] && cons.consortia[0].gate) || 'SPEC';
    const owners = gate.owners || [];
    const k = gate.approvals ?? owners.filter((o) => o.approved).length;
    const threshold = gate.threshold ?? (gate.config && gate.config.threshold);
    const revokedBy = gate.revoked_by || null;
    let state;
    if (gate.allowed) state = badge('live', 'approved · keys can be released');
    else if (revokedBy) state = badge('miss', `revoked by ${revokedBy}`);
    else if (gate.frozen) state = badge('miss', 'frozen');
    else state = badge('partial', 'awaiting approvals');
    const rows = owners.map((o) => {
      const st = revokedBy && revokedBy === o.id ? 'revoked' : o.approved ? 'signed' : 'pending';
      return h('li', { class: `owner ${st}`, 'data-owner': o.id, 'data-state': st },
        h('span', { class: 'oid' }, o.id),
        h('span', { class: 'addr', title: o.address }, short(o.address, 4)),
        h('span', {}, badge(st === 'signed' ? 'match' : st === 'revoked' ? 'miss' : 'partial', st),
          st === 'signed' && o.pos !== null && o.pos !== undefined
            ? h('span', { class: 'muted small' }, ` at ${gate.pos_unit || 'seq'} ${o.pos}`) : null),
        st === 'pending' && !revokedBy && !gate.frozen
          ? copyable(`sealroom approve --gate ${spec} --compose-hash ${hex} --key ${o.id}.key`, `Copy the approve command for ${o.id}`)
          : null);
    });
    view.replaceChildren(
      h('h1', {}, 'Approval console'),
      h('p', { class: 'hashline' }, 'compose hash ', h('code', { class: 'hash' }, hex)),
      h('section', { class: 'card quorum-card', 'aria-labelledby': 'owners-h' },
        h('h2', { id: 'owners-h' }, 'Owners'),
        h('ul', { class: 'owners' }, rows),
        h('p', { class: 'quorum' }, h('strong', { id: 'quorum' }, `${k} / ${threshold} quorum`),
          ` · ${owners.length} owners · `, state),
        gate.reason ? h('p', { class: 'muted small reason' }, gate.reason) : null),
      h('section', { class: 'card', 'aria-labelledby': 'recipe-h' },
        h('h2', { id: 'recipe-h' }, 'Recipe'),
        recipe === null || recipe === undefined
          ? h('p', { class: 'muted' }, 'This service has not seen the recipe for this hash; ask the proposer for the file and check ' +
            'that its SHA-256 is the compose hash.')
          : [recipeSummary(recipe),
            h('details', { open: true }, h('summary', {}, 'exact text (its SHA-256 is the compose hash)'),
              h('pre', { class: 'recipe', tabindex: 0 }, recipe))]));
  }

  /* ---- runs -------------------------------------------------------------- */

  function statusBadge(s) {
    const kind = { done: 'match', refused: 'miss', failed: 'miss', awaiting_approval: 'partial' }[s] || 'neutral';
    return badge(kind, (s || '').replace('_', ' '));
  }

  async function renderRuns(gen) {
    const runs = (await api('/v1/runs')).runs || [];
    if (gen !== generation) return;
    const tbody = h('tbody', {}, runs.map((r) => h('tr', { class: 'run', 'data-id': r.id, 'data-status': r.status },
      h('th', { scope: 'row' }, h('a', { href: `#/runs/${r.id}` }, r.id)),
      h('td', {}, fmtTime(r.created)),
      h('td', {}, statusBadge(r.status)),
      h('td', {}, h('a', { href: `#/approvals/${r.compose_hash}`, class: 'hash', title: r.compose_hash }, short(r.compose_hash))),
      h('td', { class: 'reason' }, r.status === 'awaiting_approval' && r.detail
        ? `${r.detail.approvals} / ${r.detail.threshold} quorum`
        : r.status === 'done' && r.detail && r.detail.epsilon_spent !== undefined
          ? `ε = ${fmtNum(r.detail.epsilon_spent)} spent` : (r.reason || '')))));
    view.replaceChildren(h('h1', {}, 'Runs'),
      runs.length ? scroller('Runs', h('table', { class: 'runs' }, h('caption', {}, 'Most recent first'),
        h('thead', {}, h('tr', {}, ['run', 'created', 'status', 'compose hash', 'detail'].map((t) => h('th', { scope: 'col' }, t)))),
        tbody)) : h('p', { class: 'muted' }, 'No runs yet.'));
    return runs.some((r) => LIVE.has(r.status));
  }

  function cellValue(cell) {
    if (cell.suppressed) return h('span', { class: 'muted' }, 'suppressed (small group)');
    if ('value' in cell) return h('span', { class: 'value' }, fmtNum(cell.value));
    if (cell.bins) {
      return h('ul', { class: 'inline' }, cell.bins.map((b) => h('li', {},
        `${b.category !== undefined ? b.category : `[${fmtNum(b.lo)}, ${fmtNum(b.hi)})`}: ${fmtNum(b.count)}`)));
    }
    if (cell.quantiles) return h('ul', { class: 'inline' }, cell.quantiles.map((q) => h('li', {}, `q${q.q}: ${fmtNum(q.value)}`)));
    if (cell.coefficients) {
      return h('ul', { class: 'inline' }, Object.entries(cell.coefficients).map(([f, v]) => h('li', {}, `${f}: ${fmtNum(v)}`)),
        cell.intercept !== undefined && cell.intercept !== null ? h('li', {}, `intercept: ${fmtNum(cell.intercept)}`) : null);
    }
    if (cell.curve) return h('ul', { class: 'inline' }, cell.curve.map((p) => h('li', {}, `t=${fmtNum(p.time)}: S=${fmtNum(p.surv)}`)));
    return h('code', {}, JSON.stringify(cell));
  }

  function outputsTable(payload) {
    const outs = Object.entries(payload.outputs || {});
    return h('table', { class: 'outputs' },
      h('caption', {}, 'Aggregate (the signed payload)'),
      h('thead', {}, h('tr', {}, ['output', 'type', 'value', 'privacy'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, outs.map(([name, o]) => {
        const p = o.privacy;
        const priv = p === 'none' ? 'none' : p ? `${p.mechanism}${p.epsilon !== undefined ? ' · ε = ' + p.epsilon : ''}` +
          `${p.rho !== undefined ? ' · ρ = ' + p.rho : ''}` : '';
        const value = o.groups
          ? h('ul', { class: 'groups' }, o.groups.map((g) => h('li', {},
            h('span', { class: 'gkey' }, Object.entries(g.key || {}).map(([k, v]) => `${k}=${v}`).join(', ')), ': ', cellValue(g))))
          : cellValue(o);
        return h('tr', { class: 'output', 'data-output': name }, h('th', { scope: 'row' }, name), h('td', {}, o.type),
          h('td', {}, value), h('td', { class: 'small' }, priv));
      })));
  }

  function verificationList(v) {
    return h('ul', { class: 'checks' }, (v.checks || []).map((c) => {
      const mark = c.ok === 1 || c.ok === true ? '✓' : c.ok === -1 || c.ok === null ? '–' : '✗';
      const cls = mark === '✓' ? 'ok' : mark === '–' ? 'skip' : 'bad';
      return h('li', { class: `check ${cls}`, 'data-check': c.name },
        h('span', { class: 'mark', 'aria-hidden': 'true' }, mark),
        h('span', { class: 'sr-only' }, cls === 'ok' ? 'passed: ' : cls === 'skip' ? 'skipped: ' : 'failed: '),
        h('span', { class: 'cname' }, CHECK_LABELS[c.name] || c.name), ' ',
        h('code', { class: 'small' }, c.name),
        c.detail ? h('div', { class: 'detail small' }, c.detail) : null);
    }));
  }

  async function renderRun(gen, id) {
    const run = await api(`/v1/runs/${encodeURIComponent(id)}`);
    let verification = null, verr = null;
    if (run.status === 'done' && run.receipt) {
      try { verification = await api(`/v1/runs/${encodeURIComponent(id)}/verification`); } catch (e) { verr = e; }
    }
    if (gen !== generation) return;
    const parts = [h('h1', {}, 'Run ', h('code', {}, run.id)),
      h('dl', { class: 'summary' },
        h('dt', {}, 'status'), h('dd', { id: 'run-status' }, statusBadge(run.status)),
        h('dt', {}, 'compose hash'), h('dd', {}, h('a', { href: `#/approvals/${run.compose_hash}`, class: 'hash' }, run.compose_hash)),
        h('dt', {}, 'created'), h('dd', {}, fmtTime(run.created)),
        h('dt', {}, 'updated'), h('dd', {}, fmtTime(run.updated)),
        run.inputs ? [h('dt', {}, 'inputs'), h('dd', {}, h('ul', {}, Object.entries(run.inputs).map(([o, u]) =>
          h('li', {}, h('strong', {}, o), ' ', h('code', { class: 'small' }, u)))))] : null)];
    if (run.status === 'awaiting_approval' && run.detail) {
      parts.push(h('p', { class: 'card quorum' }, h('strong', {}, `${run.detail.approvals} / ${run.detail.threshold} quorum`),
        ` of ${run.detail.owners} owners · `, h('a', { href: `#/approvals/${run.compose_hash}` }, 'open the approval console')));
    }
    if (run.reason && run.status !== 'done') {
      parts.push(h('p', { class: `card reason ${run.status === 'refused' || run.status === 'failed' ? 'bad' : ''}`, id: 'run-reason' },
        h('strong', {}, run.status === 'refused' ? 'Refused: ' : run.status === 'failed' ? 'Failed: ' : 'Note: '), run.reason,
        run.status === 'refused' ? [' · ', h('a', { href: `#/approvals/${run.compose_hash}` }, 'approval console')] : null));
    }
    if (run.status === 'done' && run.payload) {
      const p = run.payload.privacy || {};
      let stmt = null;
      try { stmt = JSON.parse(run.receipt.statement); } catch (e) { stmt = null; }
      const eps = p.epsilon_spent ?? (stmt && stmt.dp && stmt.dp.epsilon_spent);
      let vtext, vclass;
      if (verification) {
        vtext = verification.valid ? '✓ verified' : '✗ not verified';
        vclass = verification.valid ? 'ok' : 'bad';
      } else {
        vtext = 'verification unavailable';
        vclass = 'skip';
      }
      parts.push(h('p', { class: 'headline' }, h('span', { id: 'epsilon' }, `ε = ${fmtNum(eps)}`), ' · ',
        h('span', { id: 'verdict', class: vclass }, vtext),
        run.receipt.tee === 'simulated' ? [' · ', badge('partial', 'simulated TEE', 'The quote is rooted at a simulated TEE, not Intel TDX')] : null));
      parts.push(scroller('Aggregate', outputsTable(run.payload)));
      parts.push(h('p', { class: 'muted small' }, `privacy budget of this run: ε spent ${fmtNum(eps)}` +
        (p.delta_spent ? `, δ spent ${fmtNum(p.delta_spent)}` : '') +
        (p.epsilon_budget !== undefined ? ` of ε ${fmtNum(p.epsilon_budget)} declared` : '')));
      const sec = h('section', { class: 'card', 'aria-labelledby': 'receipt-h' }, h('h2', { id: 'receipt-h' }, 'Receipt'));
      if (verification) {
        sec.append(verificationList(verification));
        sec.append(h('p', { class: 'muted small' }, 'Checked by this service with the gate\'s KMS root and approvals; ' +
          'check it yourself offline with ', h('code', {}, 'sealroom verify receipt.json --gate …'), '.'));
      } else {
        sec.append(h('p', { class: 'muted', id: 'verification-unavailable' }, 'verification unavailable',
          verr ? ` (${verr.message})` : ''));
      }
      const blob = new Blob([JSON.stringify(run.receipt, null, 2)], { type: 'application/json' });
      sec.append(h('p', {}, h('a', { href: URL.createObjectURL(blob), download: `${run.id}.receipt.json` }, 'download the receipt'),
        stmt ? h('span', { class: 'muted small' }, ` · run key ${short(stmt.cvm_pubkey)} · ${(stmt.inputs || []).length} input(s)`) : null));
      parts.push(sec);
    }
    view.replaceChildren(...parts);
    return LIVE.has(run.status);
  }

  /* ---- router -------------------------------------------------------------- */

  /* Renders the view for parts; returns true when it shows a run that is
   * still in progress. */
  async function render(gen, parts) {
    const top = parts[0] || 'consortia';
    if (top === 'consortia') await renderConsortia(gen);
    else if (top === 'approvals' && parts[1]) await renderApproval(gen, parts[1]);
    else if (top === 'approvals') await renderApprovalList(gen);
    else if (top === 'runs' && parts[1]) return renderRun(gen, parts[1]);
    else if (top === 'runs') return renderRuns(gen);
    else view.replaceChildren(h('h1', {}, 'Not found'), h('p', {}, h('a', { href: '#/consortia' }, 'back to the consortia')));
    return false;
  }

  /* Keeps a live view current: re-renders in place (same generation, so a
   * navigation in between wins) while it shows a run in progress. A failed
   * refresh keeps the last view and says so; the next one tries again. */
  function scheduleRefresh(gen, parts, live) {
    clearTimeout(refreshTimer);
    refreshTimer = null;
    if (!live || gen !== generation) {
      view.removeAttribute('data-refresh');
      return;
    }
    view.setAttribute('data-refresh', String(REFRESH_MS));
    refreshTimer = setTimeout(async () => {
      if (gen !== generation) return;
      let still = true;
      try {
        still = await render(gen, parts);
        const stale = document.getElementById('refresh-failed');
        if (stale) stale.remove();
      } catch (e) {
        if (gen === generation && !document.getElementById('refresh-failed')) {
          view.prepend(h('p', { class: 'card reason bad', id: 'refresh-failed' }, `Could not refresh: ${e.message}`));
        }
      }
      scheduleRefresh(gen, parts, still);
    }, REFRESH_MS);
  }

  async function route() {
    const gen = ++generation;
    clearTimeout(refreshTimer);
    refreshTimer = null;
    view.removeAttribute('data-refresh');
    const parts = (location.hash || '#/consortia').replace(/^#\/?/, '').split('/').map(decodeURIComponent);
    const top = parts[0] || 'consortia';
    for (const a of document.querySelectorAll('nav a')) {
      if (a.dataset.nav === top) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    }
    if (top === 'consortia') consortiaCache = null;
    let live = false;
    try {
      live = await render(gen, parts);
      if (gen === generation) document.title = `sealroom · ${top}`;
    } catch (e) {
      if (gen === generation) view.replaceChildren(h('h1', {}, 'Could not load this view'), errorBox(e));
    }
    if (gen === generation) view.setAttribute('data-route', location.hash || '#/consortia');
    scheduleRefresh(gen, parts, live);
  }

  async function health() {
    const el = document.getElementById('service');
    try {
      const hh = await api('/v1/health');
      el.replaceChildren(badge(hh.status === 'ok' ? 'match' : 'miss', `service ${hh.status}`), ' ',
        hh.tee === 'sim' ? badge('partial', 'simulated TEE') : badge('match', 'TDX'));
    } catch (e) {
      el.replaceChildren(badge('miss', 'service unreachable'));
    }
  }

  window.addEventListener('hashchange', () => { view.removeAttribute('data-route'); route(); });
  health();
  route();
})();
