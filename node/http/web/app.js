// The browsing page: everything comes from this node's /api/v1 (nothing from the internet).
'use strict';
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const state = { q: '', filters: {}, next: null };

async function api(path) {
  const res = await fetch(path, { headers: { Accept: 'application/json' } });
  const body = await res.json();
  if (!res.ok) {
    const err = new Error(body.error + (body.param ? ' (' + body.param + ')' : ''));
    err.index = body.index;  // a 503 for words while the search index is built
    err.retryAfter = Number(res.headers.get('Retry-After')) || 0;
    throw err;
  }
  return body;
}

// While the search index is built, words cannot be matched yet: say how far it is, list
// without the words (filters answer from the store meanwhile), and try again shortly.
let indexRetry = null;
async function searchWithoutWords(err, more) {
  const { indexed, of, state: st } = err.index;
  const note = st === 'off'
    ? 'This node runs without a search index: words are not matched; showing the list without them.'
    : `The search index is being built (${indexed} of ${of} records read): words are matched once it is ready; showing the list without them meanwhile.`;
  const words = state.q;
  state.q = '';
  try {
    await search(more);
  } finally {
    state.q = words;
  }
  $('summary').insertAdjacentHTML('afterbegin', `<span class="notice">${esc(note)}</span> `);
  if (st !== 'off' && !indexRetry)
    indexRetry = setTimeout(() => { indexRetry = null; if (state.q === words) search(); }, Math.max(2, err.retryAfter) * 1000);
}

function listUrl(cursor) {
  const p = new URLSearchParams();
  if (state.q) p.set('q', state.q);
  for (const [k, v] of Object.entries(state.filters)) p.set(k, v);
  if (cursor) p.set('cursor', cursor);
  return '/api/v1/practices?' + p.toString();
}

function renderFacets(facets) {
  const names = { theme: 'Theme', city: 'City', commitment: 'Commitment' };
  const param = { theme: 'theme', city: 'city', commitment: 'ref' };
  let html = '';
  for (const facet of ['theme', 'city', 'commitment']) {
    const values = Object.entries((facets || {})[facet] || {}).sort((a, b) => b[1] - a[1]).slice(0, 15);
    if (!values.length) continue;
    html += `<h3>${names[facet]}</h3>`;
    for (const [value, count] of values) {
      const checked = facet === 'commitment'
        ? state.filters.framework + ':' + state.filters.ref === value
        : state.filters[param[facet]] === value;
      html += `<label><input type="checkbox" data-facet="${facet}" data-value="${esc(value)}" ${checked ? 'checked' : ''}> ${esc(value)} <span class="count">(${count})</span></label>`;
    }
  }
  $('facets').innerHTML = html || '<p>No filters.</p>';
  for (const box of $('facets').querySelectorAll('input')) {
    box.addEventListener('change', () => {
      const { facet, value } = box.dataset;
      if (facet === 'commitment') {
        const [fw, ref] = value.split(':');
        if (box.checked) { state.filters.framework = fw; state.filters.ref = ref; } else { delete state.filters.framework; delete state.filters.ref; }
      } else if (box.checked) state.filters[param[facet]] = value; else delete state.filters[param[facet]];
      search();
    });
  }
}

// A record's own text: in its language, and right to left when its script is (dir=auto:
// the browser follows the text's first strong character, so Arabic, Hebrew, Persian or Urdu
// read right to left whatever the page's direction).
const textOf = (item) => ` lang="${esc(item.language || '')}" dir="auto"`;

function renderItems(items, append) {
  const html = items.map((it) => `<li class="result">
      <a href="#/practice/${encodeURIComponent(it.origin)}/${encodeURIComponent(it.id)}"${textOf(it)}>${esc(it.title)}</a>
      <div class="meta">${esc(it.city)} (${esc(it.country)}) · ${esc((it.themes || []).join(', '))} · v${it.version} · ${esc(it.language)}</div>
      <div class="snippet"${textOf(it)}>${it.snippet !== undefined ? it.snippet : esc((it.summary || '').slice(0, 200))}</div>
    </li>`).join('');
  if (append) $('results').insertAdjacentHTML('beforeend', html); else $('results').innerHTML = html;
}

async function search(more) {
  try {
    const page = await api(listUrl(more ? state.next : null));
    state.next = page.next;
    renderItems(page.items, more);
    if (!more) renderFacets(page.facets);
    $('summary').textContent = `${page.total} practice${page.total === 1 ? '' : 's'}` + (state.q ? ` matching “${state.q}”` : '');
    $('more').hidden = !page.next;
  } catch (e) {
    if (e.index && state.q) return searchWithoutWords(e, more);
    $('summary').innerHTML = `<span class="error">${esc(e.message)}</span>`;
  }
}

async function showRecord(origin, id) {
  const view = $('record-view');
  try {
    const [item, history] = await Promise.all([
      api(`/api/v1/practices/${encodeURIComponent(origin)}/${encodeURIComponent(id)}`),
      api(`/api/v1/practices/${encodeURIComponent(origin)}/${encodeURIComponent(id)}/history`),
    ]);
    // Who signed a version: the city's own key, or a key it delegated (docs/identity.md).
    const signer = (v) => (v.signed_by ? `${esc(v.signed_by.name || v.signed_by.key.slice(0, 12))} (${esc(v.signed_by.role || 'key')})` : 'the city');
    const rows = history.items.map((v) => `<tr><td>v${v.version}</td><td>${esc(v.published)}</td><td>${esc(v.title)}</td><td class="signer">${signer(v)}</td></tr>`).join('');
    view.innerHTML = `<article class="record">
      <h2 id="record-title"${textOf(item)}>${esc(item.title)}</h2>
      <p class="meta">${esc(item.city)} (${esc(item.country)}) · ${esc(item.language)} · version ${item.version}, ${esc(item.published)} · signed by ${signer(item)}</p>
      <p${textOf(item)}>${esc(item.summary)}</p>
      ${item.themes ? `<p><b>Themes:</b> ${esc(item.themes.join(', '))}</p>` : ''}
      ${item.frameworks ? `<p><b>Commitments:</b> ${item.frameworks.map((f) => `<a href="#/commitment/${encodeURIComponent(f.framework)}/${encodeURIComponent(f.ref)}">${esc(f.framework + ' ' + f.ref)}</a>`).join(', ')}</p>` : ''}
      ${item.partners ? `<p><b>Partners:</b> ${esc(item.partners.join(', '))}</p>` : ''}
      <h3>Version history</h3><table class="versions"><tr><th>version</th><th>published</th><th>title</th><th>signed by</th></tr>${rows}</table>
      <p><a href="#/">← back to the results</a></p></article>`;
  } catch (e) {
    view.innerHTML = `<p class="error">${esc(e.message)}</p>`;
  }
}

async function showNetwork() {
  const view = $('network-view');
  try {
    const net = await api('/api/v1/network');
    const nodes = net.cities;
    const r = 160, cx = 220, cy = 200;
    const pos = {};
    nodes.forEach((n, i) => { const a = (2 * Math.PI * i) / Math.max(nodes.length, 1); pos[n.node] = [cx + r * Math.cos(a), cy + r * Math.sin(a)]; });
    let svg = '';
    for (const t of net.twins) {
      const [a, b] = t.cities.map((c) => pos[c.node]);
      if (a && b) svg += `<line x1="${a[0]}" y1="${a[1]}" x2="${b[0]}" y2="${b[1]}" stroke="#c05" stroke-width="2"><title>twins: ${esc(t.topics.join(', '))}</title></line>`;
    }
    for (const c of net.coalitions) {
      const lead = pos[c.lead.node];
      for (const m of c.members) {
        const p = pos[m.node];
        if (lead && p && m.node !== c.lead.node) svg += `<line x1="${lead[0]}" y1="${lead[1]}" x2="${p[0]}" y2="${p[1]}" stroke="#27a" stroke-dasharray="4"><title>${esc(c.name)}</title></line>`;
      }
    }
    for (const n of nodes) {
      const [x, y] = pos[n.node];
      svg += `<circle cx="${x}" cy="${y}" r="6" fill="#20416b"></circle><text x="${x + 9}" y="${y + 4}" font-size="12">${esc(n.city || n.node.slice(0, 8))}</text>`;
    }
    const coalitions = net.coalitions.map((c) => `<li><b>${esc(c.name)}</b> ${esc(c.title || '')} — lead ${esc(c.lead.city)}, framework ${esc(c.framework || '')}; members: ${esc(c.members.map((m) => m.city).join(', '))}</li>`).join('');
    const twins = net.twins.map((t) => `<li>${esc(t.cities[0].city)} – ${esc(t.cities[1].city)} ${t.topics.length ? '(' + esc(t.topics.join(', ')) + ')' : ''}</li>`).join('');
    const adopted = await api('/api/v1/adoptions');
    const travels = adopted.items.map((a) => `<li><a href="#/practice/${encodeURIComponent(a.from.origin)}/${encodeURIComponent(a.practice.split('/')[1])}">${esc(a.from.title || a.practice)}</a>: ${esc(a.from.city || '?')} → ${esc(a.city || '?')}${a.started ? ' (' + esc(a.started) + ')' : ''}${a.notes ? ' — ' + esc(a.notes) : ''}</li>`).join('');
    view.innerHTML = `<h2>Network</h2><svg id="network-svg" width="520" height="400" role="img" aria-label="network graph">${svg}</svg>
      <h3>Coalitions</h3><ul>${coalitions || '<li>none declared</li>'}</ul><h3>Twin cities</h3><ul>${twins || '<li>none declared</li>'}</ul>
      <h3>Practices that travelled</h3><ul id="adoptions">${travels || '<li>no adoptions recorded</li>'}</ul>`;
  } catch (e) {
    view.innerHTML = `<p class="error">${esc(e.message)}</p>`;
  }
}

// Which city acts on which commitment: rows are cities, columns the framework's refs;
// a cell opens the matching practices.
async function showCoverage(framework) {
  const view = $('coverage-view');
  try {
    const st = await api('/api/v1/stats?framework=' + encodeURIComponent(framework || 'eccar-10pt'));
    const cov = st.coverage;
    const max = Math.max(1, ...cov.rows.flatMap((r) => Object.values(r.counts)));
    const head = cov.refs.map((r) => `<th title="${esc(r.title)}"><a href="#/commitment/${encodeURIComponent(cov.framework)}/${encodeURIComponent(r.ref)}">${esc(r.ref)}</a></th>`).join('');
    const rows = cov.rows.map((row) => {
      const cells = cov.refs.map((r) => {
        const n = row.counts[r.ref] || 0;
        if (!n) return '<td class="gap">·</td>';
        const href = `#/?city=${encodeURIComponent(row.origin)}&framework=${encodeURIComponent(cov.framework)}&ref=${encodeURIComponent(r.ref)}`;
        // Shades by class: the page's CSP allows no inline styles.
        return `<td class="lvl${Math.ceil((4 * n) / max)}"><a href="${href}" title="${esc(row.city)}: ${n} on ${esc(r.title)}">${n}</a></td>`;
      }).join('');
      return `<tr><th scope="row">${esc(row.city)}</th>${cells}<td class="covered">${row.commitments_covered}/${cov.refs.length}</td></tr>`;
    }).join('');
    const frameworks = await api('/api/v1/frameworks');
    const options = frameworks.items.map((f) => `<option value="${esc(f.id)}"${f.id === cov.framework ? ' selected' : ''}>${esc(f.id)}</option>`).join('');
    const legend = cov.refs.map((r) => `<li><a href="#/commitment/${encodeURIComponent(cov.framework)}/${encodeURIComponent(r.ref)}"><b>${esc(r.ref)}</b> ${esc(r.title)}</a></li>`).join('');
    const themes = Object.entries(st.by_theme).sort((a, b) => b[1] - a[1]).map(([t, n]) => `<li>${esc(t)} <span class="count">${n}</span></li>`).join('');
    const years = Object.entries(st.by_year).map(([y, n]) => `<li>${esc(y)} <span class="count">${n}</span></li>`).join('');
    view.innerHTML = `<h2>Commitment coverage</h2>
      <label>Framework <select id="framework-select">${options}</select></label> — ${esc(cov.title)}; ${st.total} public practices
      <table id="coverage-matrix" class="matrix"><thead><tr><th>City</th>${head}<th>covered</th></tr></thead><tbody>${rows}</tbody></table>
      <ul class="legend">${legend}</ul>
      <div class="columns"><div><h3>By theme</h3><ul>${themes}</ul></div><div><h3>By year started</h3><ul>${years}</ul></div></div>`;
    $('framework-select').addEventListener('change', (e) => showCoverage(e.target.value));
  } catch (e) {
    view.innerHTML = `<p class="error">${esc(e.message)}</p>`;
  }
}

const fmt = (v, unit) => (v === null || v === undefined ? '—' : `${Number(v).toLocaleString('en')}${unit ? ' ' + unit : ''}`);
const trendMark = { improving: '↗ improving', worsening: '↘ worsening', steady: '→ steady', '': '' };

// The action plans this node holds publicly, newest first.
async function showPlans() {
  const view = $('plans-view');
  try {
    const plans = await api('/api/v1/plans?limit=100');
    const rows = plans.items.map((p) => `<tr><td><a href="#/plan/${encodeURIComponent(p.origin)}/${encodeURIComponent(p.id)}">${esc(p.title)}</a></td>
      <td>${esc(p.city)}</td><td>${esc(p.framework)}</td><td>${esc((p.period || {}).from)} – ${esc((p.period || {}).to)}</td><td>${(p.items || []).length}</td></tr>`).join('');
    view.innerHTML = `<h2>Action plans</h2><table id="plans-table" class="progress"><thead><tr><th>Plan</th><th>City</th><th>Framework</th><th>Period</th><th>Items</th></tr></thead>
      <tbody>${rows || '<tr><td colspan="5">No public plans yet.</td></tr>'}</tbody></table>`;
  } catch (e) {
    view.innerHTML = `<p class="error">${esc(e.message)}</p>`;
  }
}

// One plan's progress: items, status, latest against target, trend, and each indicator's
// history as the SVG chart the node draws (also downloadable for reports).
async function showPlan(origin, id) {
  const view = $('plan-view');
  const base = `/api/v1/plans/${encodeURIComponent(origin)}/${encodeURIComponent(id)}`;
  try {
    const p = await api(base + '/progress');
    const items = p.items.map((it) => {
      const indicators = it.indicators.map((ind) => {
        const chart = `${base}/chart.svg?item=${encodeURIComponent(it.id)}&indicator=${encodeURIComponent(ind.name)}`;
        return `<div class="indicator"><div><b>${esc(ind.name)}</b>: ${fmt(ind.latest, ind.unit)} of target ${fmt(ind.target, ind.unit)}
            (baseline ${fmt(ind.baseline, ind.unit)}, ${esc(ind.direction)})${ind.target_met ? ' <span class="met">target met</span>' : ''}
            ${ind.achieved !== null && ind.achieved !== undefined ? ` · ${Math.round(ind.achieved * 100)}% of the way` : ''} ${esc(trendMark[ind.trend || ''])}</div>
          ${ind.history.length ? `<img class="chart" src="${chart}" alt="${esc(ind.name)} over time" width="480" height="220"> <a href="${chart}" download>download SVG</a>` : '<p class="meta">no reports yet</p>'}</div>`;
      }).join('');
      return `<tr class="${it.overdue ? 'overdue' : ''}"><td>${esc(it.id)}</td>
        <td><a href="#/commitment/${encodeURIComponent(p.framework)}/${encodeURIComponent(it.commitment)}">${esc(it.commitment)}</a></td>
        <td>${esc(it.action)}${it.department ? `<div class="meta">${esc(it.department)}</div>` : ''}</td>
        <td>${esc(it.status)}${it.overdue ? ' <span class="late">overdue</span>' : ''}</td><td>${esc(it.due || '')}</td></tr>
        ${indicators ? `<tr><td></td><td colspan="4">${indicators}</td></tr>` : ''}`;
    }).join('');
    const s = p.summary;
    view.innerHTML = `<h2 id="plan-title">${esc(p.title)}</h2>
      <p class="meta">${esc(p.city)} · ${esc(p.framework)} · ${esc(p.period.from)} – ${esc(p.period.to)}</p>
      <p id="plan-summary">${s.reported}/${s.indicators} indicators reported · ${s.targets_met} targets met · ${s.overdue} items overdue</p>
      <table id="plan-items" class="progress"><thead><tr><th>Item</th><th>Commitment</th><th>Action</th><th>Status</th><th>Due</th></tr></thead><tbody>${items}</tbody></table>
      <p><a href="#/plans">← all plans</a></p>`;
  } catch (e) {
    view.innerHTML = `<p class="error">${esc(e.message)}</p>`;
  }
}

// One commitment across all cities: who acts on it, with which practices and plan items,
// and with what results so far.
async function showCommitment(framework, ref) {
  const view = $('commitment-view');
  try {
    const c = await api(`/api/v1/commitments/${encodeURIComponent(framework)}/${encodeURIComponent(ref)}`);
    const cities = c.cities.map((city) => {
      const practices = city.practices.map((pr) => `<li><a href="#/practice/${encodeURIComponent(city.origin)}/${encodeURIComponent(pr.id)}">${esc(pr.title)}</a>${pr.started ? ` (${esc(pr.started)})` : ''}</li>`).join('');
      const items = city.plan_items.map((it) => `<li><a href="#/plan/${encodeURIComponent(city.origin)}/${encodeURIComponent(it.plan)}">${esc(it.plan_title)}</a>: ${esc(it.action)} — ${esc(it.status)}${it.overdue ? ' <span class="late">overdue</span>' : ''}
          ${it.indicators.map((ind) => `<div class="meta">${esc(ind.name)}: ${fmt(ind.latest, ind.unit)} of ${fmt(ind.target, ind.unit)} ${esc(trendMark[ind.trend || ''])}</div>`).join('')}</li>`).join('');
      return `<section class="city-commitment"><h3>${esc(city.city)} (${esc(city.country)})</h3>
        ${practices ? `<h4>Practices</h4><ul>${practices}</ul>` : ''}${items ? `<h4>Plan items</h4><ul>${items}</ul>` : ''}</section>`;
    }).join('');
    view.innerHTML = `<h2 id="commitment-title">${esc(c.framework)} ${esc(c.ref)}: ${esc(c.title)}</h2>
      <p>${c.cities.length} cit${c.cities.length === 1 ? 'y acts' : 'ies act'} on this commitment.</p>${cities}
      <p><a href="#/coverage">← coverage</a></p>`;
  } catch (e) {
    view.innerHTML = `<p class="error">${esc(e.message)}</p>`;
  }
}

function route() {
  const hash = location.hash || '#/';
  const [path, query] = hash.slice(2).split('?');
  const parts = path.split('/').map(decodeURIComponent);
  if (parts[0] === '' && query !== undefined) {  // a link with filters, e.g. from the coverage matrix
    state.filters = Object.fromEntries(new URLSearchParams(query));
    state.q = '';
    $('q').value = '';
    search();
  }
  $('search-view').hidden = parts[0] !== '';
  $('record-view').hidden = parts[0] !== 'practice';
  $('network-view').hidden = parts[0] !== 'network';
  $('coverage-view').hidden = parts[0] !== 'coverage';
  $('plans-view').hidden = parts[0] !== 'plans';
  $('plan-view').hidden = parts[0] !== 'plan';
  $('commitment-view').hidden = parts[0] !== 'commitment';
  if (parts[0] === 'practice') showRecord(parts[1], parts[2]);
  else if (parts[0] === 'plans') showPlans();
  else if (parts[0] === 'plan') showPlan(parts[1], parts[2]);
  else if (parts[0] === 'commitment') showCommitment(parts[1], parts[2]);
  else if (parts[0] === 'coverage') showCoverage();
  else if (parts[0] === 'network') showNetwork();
}

$('search-form').addEventListener('submit', (e) => { e.preventDefault(); state.q = $('q').value.trim(); search(); });
$('more').addEventListener('click', () => search(true));
window.addEventListener('hashchange', route);
route();
search();
