// apayun-mock dashboard. Plain JavaScript, no build step, no dependencies.
// Every view is a documented control-API call; live updates come from
// GET /_mock/events, read with fetch so that the admin token can go in a
// header (EventSource cannot send one).
'use strict';

// ---- error capture: the browser tests read window.__dashboardErrors ----
const pageErrors = [];
window.__dashboardErrors = pageErrors;
window.addEventListener('error', (e) => {
  const target = e.target && e.target !== window ? (e.target.src || e.target.href || e.target.tagName) : '';
  pageErrors.push('error: ' + (e.message || 'failed to load ' + target));
}, true);
window.addEventListener('unhandledrejection', (e) => pageErrors.push('rejection: ' + String(e.reason)));
document.addEventListener('securitypolicyviolation', (e) =>
  pageErrors.push('csp: ' + e.violatedDirective + ' ' + e.blockedURI));
{
  const original = console.error.bind(console);
  console.error = (...args) => { pageErrors.push('console: ' + args.map(String).join(' ')); original(...args); };
}

// ---- small helpers ----
const $ = (id) => document.getElementById(id);

/** Builds an element; children are nodes or text (never parsed as HTML). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** "YYYY-MM-DD HH:MM:SS" (engine zone) as milliseconds, computed as if UTC. */
function parseTime(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(text || '');
  return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) : NaN;
}

function formatTime(ms) {
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

/** One calendar month later, clamped to the month's end (as `months` are). */
function addMonth(ms) {
  const d = new Date(ms);
  const y = d.getUTCFullYear(), mo = d.getUTCMonth() + 1;
  const last = new Date(Date.UTC(y, mo + 1, 0)).getUTCDate();
  return Date.UTC(y, mo, Math.min(d.getUTCDate(), last), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds());
}

function formatDuration(seconds) {
  const sign = seconds < 0 ? '-' : '+';
  let s = Math.abs(Math.round(seconds));
  const parts = [];
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60]]) {
    if (s >= size) { parts.push(Math.floor(s / size) + unit); s %= size; }
  }
  if (s || !parts.length) parts.push(s + 's');
  return sign + parts.join(' ');
}

/** "90", "45m", "2h", "1d12h", "1d 2h 3m 4s" → seconds, or NaN. */
function parseDuration(text) {
  const t = text.trim().toLowerCase();
  if (/^\d+$/.test(t)) return Number(t);
  const re = /(\d+)\s*(d|h|m|s)/gy;
  let total = 0, m, end = 0;
  const compact = t.replace(/\s+/g, '');
  while ((m = re.exec(compact)) !== null) {
    total += Number(m[1]) * { d: 86400, h: 3600, m: 60, s: 1 }[m[2]];
    end = re.lastIndex;
  }
  return end === compact.length && end > 0 ? total : NaN;
}

/**
 * The server's words and rules (actions, states, transitions, the secret
 * rule), embedded in the page by the server: the page keeps no copy.
 */
const VOCAB = JSON.parse(document.getElementById('vocabulary').textContent);

/** Passwords and keys never reach the screen, whatever an answer holds: the server's one rule (protocol/mask.rs). */
function isSecret(name) {
  const rule = VOCAB.secret;
  const folded = Array.from(String(name)).filter((c) => !rule.ignored.includes(c)).join('').replace(/[A-Z]/g, (c) => c.toLowerCase());
  return rule.contains.some((w) => folded.includes(w)) || rule.equals.includes(folded) || rule.ends_with.some((w) => folded.endsWith(w));
}
function masked(value) {
  if (Array.isArray(value)) return value.map(masked);
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = isSecret(k) && v !== null && v !== '' ? VOCAB.secret.mask : masked(v);
    return out;
  }
  return value;
}
const pretty = (value) => JSON.stringify(masked(value), null, 2);

function randomDigits(n) {
  const a = new Uint8Array(n);
  crypto.getRandomValues(a);
  return Array.from(a, (b) => b % 10).join('');
}
/** An 18-digit agent order number, fresh for every demo call. */
const newOrderNo = () => String(Date.now()) + randomDigits(5);
/** A random base64 login password the page never shows. */
function newPassword() {
  const letters = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789';
  const a = new Uint8Array(14);
  crypto.getRandomValues(a);
  return btoa(Array.from(a, (b) => letters[b % letters.length]).join('') + '!');
}

// ---- state ----
const TOKEN_KEY = 'apayun-mock.admin-token';
const S = {
  ns: 'default',
  token: sessionStorage.getItem(TOKEN_KEY),
  clock: null,
  clockAt: 0,
  catalog: null,
  users: [],
  detailGuid: null,
  detail: null,
  expanded: new Set(),
  started: false,
};

function base() {
  return S.ns === 'default' ? '/_mock' : '/ns/' + encodeURIComponent(S.ns) + '/_mock';
}

function engineNow() {
  if (!S.clock) return NaN;
  const at = parseTime(S.clock.now);
  return S.clock.frozen ? at : at + (performance.now() - S.clockAt);
}

// ---- talking to the control API ----
class Refused extends Error {}

/** Calls in flight; tests wait for 0 before changing things under the page. */
let callsInFlight = 0;
window.__dashboardIdle = () => callsInFlight === 0 && !Object.values(inFlight).some(Boolean);

async function request(method, path, body) {
  callsInFlight++;
  try { return await send(method, path, body); } finally { callsInFlight--; }
}

async function send(method, path, body) {
  const headers = {};
  if (S.token) headers.Authorization = 'Bearer ' + S.token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  try { data = await resp.json(); } catch (_) { data = null; }
  if (resp.status === 401) {
    showGate(data && data.message);
    throw new Refused((data && data.message) || 'admin token required');
  }
  if (!resp.ok) {
    const err = new Error((data && (data.message || data.error)) || ('HTTP ' + resp.status));
    err.status = resp.status;
    err.reason = data && data.error;
    throw err;
  }
  return data;
}
const ctl = (method, sub, body) => request(method, base() + sub, body);

function showBanner(text) {
  const b = $('banner');
  b.replaceChildren(h('span', {}, text), h('button', { type: 'button', class: 'ghost', onclick: () => { b.hidden = true; } }, '✕'));
  b.hidden = false;
}

function reportError(err) {
  if (err instanceof Refused) return;
  showBanner('✕ ' + (err && err.message ? err.message : String(err)));
}

/** Runs a button's action with the button disabled meanwhile. */
async function busy(button, work) {
  if (button) button.disabled = true;
  try { return await work(); } catch (e) { reportError(e); return undefined; } finally { if (button) button.disabled = false; }
}

// ---- refreshing panels: one request in flight per panel, repeats coalesce ----
const refreshers = {};
const inFlight = {};
const again = {};
function refresh(name) {
  if (!S.started || !refreshers[name]) return;
  if (inFlight[name]) { again[name] = true; return; }
  inFlight[name] = true;
  refreshers[name]()
    .catch(reportError)
    .finally(() => {
      inFlight[name] = false;
      if (again[name]) { again[name] = false; refresh(name); }
    });
}
const TOPIC_PANELS = {
  clock: ['clock'],
  instances: ['instances', 'detail'],
  journal: ['journal', 'detail'],
  faults: ['faults'],
  callbacks: ['callbacks'],
  snapshots: ['snapshots'],
};
function refreshAll() {
  for (const name of Object.keys(refreshers)) refresh(name);
}

// ---- live updates: server-sent events read with fetch ----
let listenGeneration = 0;
let listenAbort = null;

function setLive(on) {
  const el = $('live');
  el.dataset.state = on ? 'on' : 'off';
  el.replaceChildren(h('span', { 'aria-hidden': 'true' }, on ? '●' : '○'), on ? ' 实时 live' : ' 重连中 reconnecting…');
}

function handleEvent(block) {
  let name = 'message', data = '';
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) name = line.slice(6).trim();
    else if (line.startsWith('data:')) data += line.slice(5).trim();
  }
  if (name === 'ready') { refreshAll(); return; }
  if (name === 'clock' && data) {
    try { const d = JSON.parse(data); if (d.clock) setClock(d.clock); } catch (_) { /* a partial event: refresh below */ }
  }
  for (const panel of TOPIC_PANELS[name] || []) refresh(panel);
}

async function listen() {
  const generation = ++listenGeneration;
  if (listenAbort) listenAbort.abort();
  while (generation === listenGeneration) {
    const abort = new AbortController();
    listenAbort = abort;
    try {
      const headers = S.token ? { Authorization: 'Bearer ' + S.token } : {};
      const resp = await fetch(base() + '/events', { headers, signal: abort.signal });
      if (resp.status === 401) { showGate(); return; }
      if (resp.ok && resp.body) {
        setLive(true);
        const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value.replace(/\r\n/g, '\n');
          let cut;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            handleEvent(buffer.slice(0, cut));
            buffer = buffer.slice(cut + 2);
          }
        }
      }
    } catch (e) {
      if (abort.signal.aborted) return;
    }
    if (generation !== listenGeneration) return;
    setLive(false);
    await sleep(1000);
    // The stream also ends when a namespace is deleted; reconnecting would
    // create it afresh, so look first (the list creates nothing).
    if (S.ns !== 'default' && generation === listenGeneration) {
      const alive = await request('GET', '/_mock/namespaces').then((d) => namespaceNames(d).includes(S.ns), () => true);
      if (!alive && generation === listenGeneration) {
        showBanner(`命名空间已删除 Namespace “${S.ns}” was deleted; showing “default”.`);
        switchNamespace('default').catch(reportError);
        return;
      }
    }
  }
}

// ---- status badges: colour, icon and words ----
// A state's tone comes from the server; the page only draws it.
const TONE_ICONS = {
  order_status: { wait: '◔', ok: '✔', bad: '⚠', off: '✕' },
  run_status: { ok: '▶', off: '■', bad: '⊘' },
  act_status: { off: '–', busy: '⟳' },
};
function stateOf(field, value) {
  return (VOCAB.states[field] || []).find((s) => s.code === String(value));
}
function badge(field, value, label) {
  const state = stateOf(field, value);
  const cls = state ? 'st-' + state.tone : 'st-off';
  const icon = (state && (TONE_ICONS[field] || {})[state.tone]) || '?';
  const zh = label ? label.zh : value, en = label ? label.en : '';
  return h('span', { class: 'st ' + cls, title: `${field} = ${value}`, dataset: { field, value } },
    h('span', { 'aria-hidden': 'true' }, icon), ' ' + zh + ' ', h('small', {}, en));
}

const kindWords = (kind) => {
  const words = VOCAB.transitions[kind];
  return words ? `${words.zh} ${words.en}` : kind + ' ';
};

// ---- clock ----
function setClock(clock) {
  S.clock = clock;
  S.clockAt = performance.now();
  renderClock();
}

function renderClock() {
  if (!S.clock) return;
  $('clock-now').textContent = formatTime(engineNow());
  $('clock-now').setAttribute('datetime', S.clock.now.replace(' ', 'T'));
  $('clock-offset').textContent = formatDuration(S.clock.offset_seconds);
  const state = $('clock-state');
  state.className = 'st ' + (S.clock.frozen ? 'st-wait' : 'st-ok');
  state.replaceChildren(h('span', { 'aria-hidden': 'true' }, S.clock.frozen ? '⏸' : '▶'),
    S.clock.frozen ? ' 已冻结 frozen' : ' 走时 ticking');
  $('clock-freeze').hidden = S.clock.frozen;
  $('clock-resume').hidden = !S.clock.frozen;
}

refreshers.clock = async () => setClock(await ctl('GET', '/clock'));

/** Moves the clock, then lists what fell due (the pending transitions it passed). */
async function moveClock(button, move) {
  await busy(button, async () => {
    const before = await ctl('GET', '/timeline');
    const clock = await move();
    setClock(clock);
    const nowMs = parseTime(clock.now);
    const fell = before.pending.filter((t) => parseTime(t.due) <= nowMs && !t.stalled_by);
    const box = $('fell-due');
    box.replaceChildren(h('strong', {}, `已到期 Fell due: ${fell.length}`),
      fell.length ? h('ul', {}, fell.map((t) => h('li', {}, h('span', { class: 'mono' }, t.guid), ' · ' + kindWords(t.kind) + ' · ' + t.due))) : h('span', {}, ' — nothing was pending before ' + clock.now));
    refresh('instances');
    refresh('detail');
  });
}

function advanceBy(button, seconds) {
  return moveClock(button, () => ctl('POST', '/clock/advance', { seconds }));
}

// ---- instances ----
function instanceQuery() {
  const q = new URLSearchParams();
  const member = $('filter-member').value;
  if (member) q.set('userid', member);
  const status = $('filter-status').value;
  if (status) { const [k, v] = status.split('='); q.set(k, v); }
  return q.toString();
}

function endsCell(inst) {
  const days = inst.days_left;
  let sub = '';
  if (days !== null && days !== undefined) sub = days >= 0 ? `剩 ${days} 天 days left` : `已过 ${-days} 天 days ago`;
  return h('td', { class: 'nowrap', dataset: { label: '到期 Ends' } }, inst.end_time.slice(0, 10), h('span', { class: 'sub' }, sub));
}

refreshers.instances = async () => {
  const query = instanceQuery();
  const data = await ctl('GET', '/instances' + (query ? '?' + query : ''));
  const body = $('instances-body');
  $('instances-count').textContent = data.total > data.instances.length
    ? `(${data.instances.length} / ${data.total})` : `(${data.total})`;
  if (!data.instances.length) {
    body.replaceChildren(h('tr', {}, h('td', { colspan: 7, class: 'empty' }, '没有实例 No instances' + (query ? ' match the filter' : ''))));
    return;
  }
  body.replaceChildren(...data.instances.map((inst) => {
    const open = () => openDetail(inst.guid);
    return h('tr', { class: 'clickable' + (inst.guid === S.detailGuid ? ' selected' : ''), dataset: { guid: inst.guid }, onclick: open },
      h('td', { class: 'guid' }, h('button', { type: 'button', class: 'link', 'aria-label': `详情 Details ${inst.guid}`, onclick: (e) => { e.stopPropagation(); open(); } }, inst.guid)),
      h('td', { dataset: { label: '成员 Member' } }, inst.userid),
      h('td', { dataset: { label: '区域 / 线路 Zone / line' } }, inst.zone.name || inst.zone.guid, h('span', { class: 'sub' }, inst.line.name || inst.line.guid)),
      h('td', { dataset: { label: '产品 / 系统 Product / OS' } }, inst.product.name || inst.product.guid, h('span', { class: 'sub' }, inst.system.name)),
      h('td', { class: 'nowrap', dataset: { label: 'IP' } }, h('span', { class: 'mono' }, inst.primary_ip || '—'),
        h('span', { class: 'sub' }, `${inst.ip_count} IP · ${inst.subnet_count} 子网 subnet${inst.subnet_count === 1 ? '' : 's'}`)),
      h('td', { dataset: { label: '状态 Status' } }, h('div', { class: 'states' },
        badge('order_status', inst.order_status, inst.labels.order_status),
        badge('run_status', inst.run_status, inst.labels.run_status),
        badge('act_status', inst.act_status, inst.labels.act_status))),
      endsCell(inst));
  }));
};

// ---- instance detail ----
function openDetail(guid) {
  S.detailGuid = guid;
  S.detail = null;
  $('detail-panel').hidden = false;
  $('detail-guid').textContent = guid;
  $('detail-body').replaceChildren(h('p', { class: 'hint' }, '加载中 Loading…'));
  for (const tr of document.querySelectorAll('#instances-body tr')) tr.classList.toggle('selected', tr.dataset.guid === guid);
  refresh('detail');
  $('detail-panel').scrollIntoView({ block: 'nearest' });
}

function closeDetail() {
  S.detailGuid = null;
  S.detail = null;
  $('detail-panel').hidden = true;
  for (const tr of document.querySelectorAll('#instances-body tr.selected')) tr.classList.remove('selected');
}

function table(caption, headers, rows, empty) {
  if (!rows.length) return h('p', { class: 'hint' }, empty);
  return h('div', { class: 'table-wrap' }, h('table', {},
    h('caption', { class: 'sr-only' }, caption),
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((c) => (c instanceof Node && c.tagName === 'TD' ? c : h('td', {}, c))))))));
}

const IP_STATUS = { '1': ['st-ok', '✔', '在用 live'], '-1': ['st-off', '✕', '已释放 released'] };
function ipStatus(value) {
  const [cls, icon, words] = IP_STATUS[value] || ['st-off', '?', value];
  return h('span', { class: 'st ' + cls }, h('span', { 'aria-hidden': 'true' }, icon), ' ' + words);
}

function countdownCell(due) {
  return h('td', { class: 'countdown', dataset: { due } }, countdownText(due));
}
function countdownText(due) {
  const left = (parseTime(due) - engineNow()) / 1000;
  if (!Number.isFinite(left)) return '';
  return left > 0 ? '还有 in ' + formatDuration(left).slice(1) : '到期 due now';
}

function opButton(label, action, params, confirmText) {
  return h('button', {
    type: 'button', dataset: { op: action },
    onclick: (e) => {
      if (confirmText && !window.confirm(confirmText)) return;
      demoCall(e.currentTarget, action, params());
    },
  }, label);
}

function detailOps(inst, line) {
  const guid = inst.guid;
  const months = h('select', { 'aria-label': '续费时长 Renew months', id: 'renew-months' },
    (line ? numbers(line.months) : [1]).map((m) => h('option', { value: m }, `${m} 月 month${m > 1 ? 's' : ''}`)));
  const bandwidth = h('input', { type: 'number', min: 0, value: 0, id: 'upgrade-bandwidth', 'aria-label': '带宽增量 Bandwidth +Mbps', class: 'narrow' });
  const ipnum = h('select', { id: 'upgrade-ipnum', 'aria-label': 'IP 增量 IPs' },
    h('option', { value: 0 }, '+0 IP'),
    (line ? numbers(line.ip_num_list) : []).map((n) => h('option', { value: n }, `+${n} IP`)));
  const ipType = h('select', { id: 'upgrade-iptype', 'aria-label': 'IP 类型 IP type' },
    (line ? numbers(line.ip_upgrade_type) : [1, 2]).map((t) => h('option', { value: t }, t === 2 ? '子网 subnet' : '单 IP single')));
  return h('div', { class: 'ops' },
    opButton('■ 关机 Stop', 'stop', () => ({ guid })),
    opButton('▶ 开机 Start', 'start', () => ({ guid })),
    opButton('⟳ 重启 Restart', 'restart', () => ({ guid })),
    h('form', { onsubmit: (e) => { e.preventDefault(); demoCall(e.submitter, 'renew', { guid, months: months.value, agent_order_no: newOrderNo() }); } },
      h('label', {}, '续费 Renew', months), h('button', { type: 'submit', dataset: { op: 'renew' } }, '续费 Renew')),
    h('form', {
      onsubmit: (e) => {
        e.preventDefault();
        const params = { guid, bandwidth: bandwidth.value || '0', ipnum: ipnum.value, defense: '0', agent_order_no: newOrderNo() };
        if (Number(ipnum.value) > 0) params.ip_type = ipType.value;
        demoCall(e.submitter, 'upgrade', params);
      },
    }, h('label', {}, '带宽 +Mbps', bandwidth), h('label', {}, 'IP', ipnum), h('label', {}, '类型 Type', ipType),
    h('button', { type: 'submit', dataset: { op: 'upgrade' } }, '⇧ 升级 Upgrade')));
}

function renderDetail(d, journal) {
  const inst = d.instance, bm = d.baremetal;
  const line = S.catalog && S.catalog.lines.find((l) => l.guid === inst.line.guid);
  const kv = (k, v) => h('div', {}, h('dt', {}, k), h('dd', {}, v));
  const body = [
    h('dl', { class: 'kv' },
      kv('成员 Member', inst.userid),
      kv('区域 / 线路 Zone / line', `${inst.zone.name} / ${inst.line.name}`),
      kv('产品 Product', inst.product.name),
      kv('系统 OS', inst.system.name),
      kv('带宽 Bandwidth', `${inst.bandwidth} Mbps`),
      kv('防御 Defense', `${inst.defense} G`),
      kv('订单 Order', badge('order_status', inst.order_status, inst.labels.order_status)),
      kv('运行 Run', badge('run_status', inst.run_status, inst.labels.run_status)),
      kv('操作 Action', badge('act_status', inst.act_status, inst.labels.act_status)),
      kv('开始 Start', inst.start_time),
      kv('到期 Ends', `${inst.end_time}` + (inst.days_left !== null ? ` (${inst.days_left} 天 days)` : ''))),
    h('h3', {}, '演示操作 Demo operations'),
    h('p', { class: 'hint' }, 'Each is a signed call through /api for member ' + inst.userid + ' (POST /_mock/call).'),
    detailOps(inst, line),
    h('p', { id: 'op-result', class: 'result', role: 'status' }),
    h('h3', {}, `IP 地址 Addresses (${bm.ip.length})`),
    table('Addresses', ['IP', '类型 Type', '掩码 Mask', '网关 Gateway', '状态 Status', '主 Primary'],
      bm.ip.map((ip) => [h('td', { class: 'mono' }, ip.ip), ip.net_type, ip.mask, ip.gateway, h('td', {}, ipStatus(ip.status)), ip.is_default === '1' ? '✔ 是 yes' : '']),
      '没有地址 No addresses'),
    h('h3', {}, `子网 Subnets (${d.subnets.length})`),
    table('Subnets', ['CIDR', '网络 Network', '网关 Gateway', '广播 Broadcast', '掩码 Mask', '地址数 Size', '状态 Status'],
      d.subnets.map((s) => [h('td', { class: 'mono' }, s.cidr || s.value), s.network, s.gateway, s.broadcast, s.mask, s.size, h('td', {}, ipStatus(s.status))]),
      '没有子网 No subnets'),
    h('h3', {}, `升级记录 Upgrades (${bm.upgrade.length})`),
    table('Upgrade records', ['类型 Type', '数量 Nums', '值 Value', '状态 Status', '订单号 order_no_api', '时间 Time'],
      bm.upgrade.map((u) => [u.type, u.nums, h('td', { class: 'mono' }, u.value), u.status === '1' ? '1 生效 in effect' : '0 已降配 degraded', h('td', { class: 'mono' }, u.order_no_api), u.create_time]),
      '没有升级 No upgrades'),
    h('h3', {}, `降配记录 Degrades (${bm.degrades.length})`),
    table('Degrade records', ['项目 Item', '值 Value', '状态 Status', '生效 Applies', '完成 Finished'],
      bm.degrades.map((x) => [x.item, h('td', { class: 'mono' }, x.value), ({ '0': '0 待生效 pending', '1': '1 已生效 applied', '-1': '-1 已取消 cancelled' })[x.status] || x.status, x.apply_time, x.finish_time || '—']),
      '没有降配 No degrades'),
    h('h3', {}, `待执行 Pending transitions (${d.pending.length})`),
    table('Pending transitions', ['事件 Event', '到期 Due', '倒计时 Countdown', 'taskid'],
      d.pending.map((t) => [kindWords(t.kind) + (t.stalled_by ? ` (卡住 stalled by fault #${t.stalled_by})` : ''), t.due, countdownCell(t.due), t.taskid || '—']),
      '没有待执行的转换 Nothing pending'),
    h('h3', {}, `请求 Journal for this GUID (${journal.length})`),
    table('Journal entries for this instance', ['#', '时间 Time', '接口 Action', '结果 Result'],
      journal.map((e) => [e.id, e.time, e.action, resultText(e)]),
      '没有请求 No calls name this GUID'),
  ];
  $('detail-body').replaceChildren(...body);
}

refreshers.detail = async () => {
  const guid = S.detailGuid;
  if (!guid) return;
  const [d, j] = await Promise.all([
    ctl('GET', '/instances/' + encodeURIComponent(guid)).catch((e) => { if (e.status === 404) return null; throw e; }),
    ctl('GET', '/requests?limit=50&guid=' + encodeURIComponent(guid)),
  ]);
  if (guid !== S.detailGuid) return;
  if (!d) { $('detail-body').replaceChildren(h('p', { class: 'hint' }, '实例不存在 This instance no longer exists.')); return; }
  // Keep what the user typed in the operation forms across live refreshes.
  const kept = {};
  for (const id of ['renew-months', 'upgrade-bandwidth', 'upgrade-ipnum', 'upgrade-iptype']) if ($(id)) kept[id] = $(id).value;
  const result = $('op-result') ? [$('op-result').textContent, $('op-result').className] : null;
  S.detail = d;
  renderDetail(d, j.requests);
  for (const [id, v] of Object.entries(kept)) if ($(id)) $(id).value = v;
  if (result) { $('op-result').textContent = result[0]; $('op-result').className = result[1]; }
};

// ---- demo calls (signed by the engine for the member) ----
async function demoCall(button, action, params, resultEl) {
  const out = resultEl || $('op-result');
  const userid = action === 'create' ? $('order-member').value : (S.detail && S.detail.instance.userid);
  return busy(button, async () => {
    const r = await ctl('POST', '/call', { userid, action, params });
    const a = r.answer || {};
    if (out) {
      if (r.transport_error) { out.className = 'result bad'; out.textContent = '✕ ' + r.transport_error; }
      else if (a.code === 0) { out.className = 'result ok'; out.textContent = `✔ ${action}: code 0 ${a.message || ''}`; }
      else {
        out.className = 'result bad';
        out.textContent = `✕ ${action}: ` + (typeof a === 'object' && a !== null
          ? `code ${a.code} · ${r.reason || ''} · ${a.message || ''}` : `HTTP ${r.status} ${r.reason || ''} ${String(a)}`);
      }
    }
    return r;
  });
}

// ---- journal ----
function resultText(e) {
  return e.code === 0 ? h('span', { class: 'st st-ok' }, h('span', { 'aria-hidden': 'true' }, '✔'), ' 0')
    : h('span', { class: 'st st-bad' }, h('span', { 'aria-hidden': 'true' }, '✕'), ` ${e.code} ${e.reason || ''}`);
}

/** One journal change: the server's vocabulary names the key that tells
 * its kind apart; that key's value comes first, then the other fields. */
function effectText(effect) {
  if (!effect || typeof effect !== 'object') return String(effect);
  const text = (v) => (typeof v === 'object' ? JSON.stringify(v) : String(v));
  const kind = VOCAB.changes.find((c) => Object.prototype.hasOwnProperty.call(effect, c.key));
  const rest = Object.entries(effect)
    .filter(([k, v]) => (!kind || k !== kind.key) && v !== null)
    .map(([k, v]) => `${k}=${text(v)}`);
  return kind ? [`${kind.sign} ${kind.key} ${text(effect[kind.key])}`, ...rest].join(' ') : rest.join(' ');
}

/** At most three effects in the row; the expanded row shows them all. */
function effectsCell(effects) {
  if (!effects.length) return '—';
  const shown = effects.slice(0, 3).map((x) => h('span', { class: 'sub mono' }, effectText(x)));
  if (effects.length > 3) shown.push(h('span', { class: 'sub' }, `… +${effects.length - 3}`));
  return shown;
}

function journalQuery() {
  const q = new URLSearchParams({ limit: '200' });
  if ($('journal-action').value) q.set('action', $('journal-action').value);
  const guid = $('journal-guid').value.trim();
  if (guid) q.set('guid', guid);
  if ($('journal-code').value) q.set('code', $('journal-code').value);
  return q.toString();
}

refreshers.journal = async () => {
  const data = await ctl('GET', '/requests?' + journalQuery());
  const body = $('journal-body');
  $('journal-count').textContent = `(${data.requests.length}${data.dropped ? `, ${data.dropped} dropped` : ''})`;
  if (!data.requests.length) {
    body.replaceChildren(h('tr', {}, h('td', { colspan: 8, class: 'empty' }, '还没有请求 No calls yet')));
    return;
  }
  const rows = [];
  for (const e of data.requests) {
    const open = S.expanded.has(e.id);
    const toggle = () => { if (S.expanded.has(e.id)) S.expanded.delete(e.id); else S.expanded.add(e.id); refresh('journal'); };
    rows.push(h('tr', { class: 'clickable' + (open ? ' selected' : ''), dataset: { id: e.id }, onclick: toggle },
      h('td', { class: 'guid' }, h('button', { type: 'button', class: 'link', 'aria-expanded': String(open), 'aria-label': `请求 Call ${e.id}`, onclick: (ev) => { ev.stopPropagation(); toggle(); } }, String(e.id))),
      h('td', { class: 'nowrap', dataset: { label: '时间 Time' } }, e.time.slice(5)),
      h('td', { dataset: { label: '接口 Action' } }, e.action || '—', e.guid ? h('span', { class: 'sub mono' }, e.guid) : null),
      h('td', { dataset: { label: '成员 Member' } }, e.userid || '—'),
      h('td', { dataset: { label: '结果 Result' } }, resultText(e)),
      h('td', { class: 'nowrap', dataset: { label: '耗时 Latency' } }, e.latency_ms.toFixed(1) + ' ms'),
      h('td', { dataset: { label: '故障 Fault' } }, e.fault ? `#${e.fault}` : '—'),
      h('td', { class: 'effects', dataset: { label: '影响 Effects' } }, effectsCell(e.effects))));
    if (open) {
      rows.push(h('tr', { class: 'expanded' }, h('td', { colspan: 8 },
        h('div', { class: 'pre-grid' },
          h('div', {}, h('strong', {}, '请求 Request (masked)'), h('pre', {}, pretty(e.params))),
          h('div', {}, h('strong', {}, '应答 Answer'), h('pre', {}, pretty(e.response)))),
        e.effects.length ? h('div', {}, h('strong', {}, '影响 Effects'), h('pre', {}, pretty(e.effects))) : null,
        e.sign_input ? h('p', {}, '签名原文 Sign input: ', h('code', {}, e.sign_input)) : null)));
    }
  }
  body.replaceChildren(...rows);
};

// ---- callbacks ----
refreshers.callbacks = async () => {
  const [log, users] = await Promise.all([ctl('GET', '/callbacks'), ctl('GET', '/users')]);
  S.users = users.users;
  const select = $('callback-member');
  const chosen = select.value;
  select.replaceChildren(...S.users.map((u) => h('option', { value: u.userid }, u.userid + (u.callback_url ? ' ✔' : ''))));
  if (chosen) select.value = chosen;
  if (document.activeElement !== $('callback-url')) fillCallbackUrl();
  const records = log.callbacks.slice().reverse();
  $('callbacks-count').textContent = `(${records.length})`;
  const body = $('callbacks-body');
  if (!records.length) {
    body.replaceChildren(h('tr', {}, h('td', { colspan: 6, class: 'empty' }, '还没有回调 No callbacks yet (set a member’s URL, then complete a transition)')));
    return;
  }
  body.replaceChildren(...records.map((r) => h('tr', {},
    h('td', {}, r.id),
    h('td', {}, kindWords(r.event)),
    h('td', { class: 'mono' }, (r.params && r.params.guid) || '—'),
    h('td', { class: 'mono' }, r.url),
    h('td', {}, r.delivered ? h('span', { class: 'st st-ok' }, h('span', { 'aria-hidden': 'true' }, '✔'), ' 已送达 delivered')
      : r.attempts.length ? h('span', { class: 'st st-bad' }, h('span', { 'aria-hidden': 'true' }, '✕'), ' 未送达 not delivered')
        : h('span', { class: 'st st-wait' }, h('span', { 'aria-hidden': 'true' }, '◔'), ' 等待 queued')),
    h('td', {}, r.attempts.length ? r.attempts.map((a) => h('span', { class: 'sub' }, `${a.at} → ${a.status || ''} ${a.error || ''}`)) : '—'))));
};

function fillCallbackUrl() {
  const user = S.users.find((u) => u.userid === $('callback-member').value);
  $('callback-url').value = (user && user.callback_url) || '';
}

// ---- faults ----
function effectSummary(effect) {
  const ghost = effect.applied ? ' · 照做 applied' : '';
  switch (effect.kind) {
    case 'error': return `error code ${effect.code} ${effect.reason} “${effect.message}”${ghost}`;
    case 'http': return `http ${effect.status}${ghost}`;
    case 'delay': return effect.ms !== undefined ? `delay ${effect.ms} ms` : `delay ${effect.min_ms}–${effect.max_ms} ms`;
    default: return `${effect.kind}${ghost}`;
  }
}

refreshers.faults = async () => {
  const data = await ctl('GET', '/faults');
  const list = $('faults-list');
  if (!data.faults.length) { list.replaceChildren(h('li', { class: 'none' }, '没有故障 No fault rules')); return; }
  list.replaceChildren(...data.faults.map((f) => h('li', { dataset: { id: f.id } },
    h('span', { class: 'what' }, h('strong', {}, `#${f.id} `), `${f.action || '任意 any action'} · ${f.userid ? 'member ' + f.userid : 'any member'} → ${effectSummary(f.effect)}`,
      h('span', { class: 'sub' }, `after ${f.after} · times ${f.times ?? '∞'} · p ${f.probability} · 命中 fired ${f.fired} / matched ${f.matched}`)),
    h('span', { class: 'actions' }, h('button', { type: 'button', class: 'danger-ghost', 'aria-label': `删除故障 Delete fault ${f.id}`, onclick: (e) => busy(e.currentTarget, () => ctl('DELETE', '/faults/' + f.id)) }, '删除 Delete')))));
};

/** The effects that take `applied` (the server refuses it on the others). */
const APPLIES = ['error', 'http', 'drop'];

function faultSpec() {
  const spec = { after: Number($('fault-after').value || 0), probability: Number($('fault-probability').value || 1) };
  if ($('fault-action').value) spec.action = $('fault-action').value;
  if ($('fault-userid').value) spec.userid = $('fault-userid').value;
  if ($('fault-times').value) spec.times = Number($('fault-times').value);
  const kind = $('fault-kind').value;
  const effect = { kind };
  if (kind === 'error') Object.assign(effect, { code: Number($('fault-code').value || 1), reason: $('fault-reason').value, message: $('fault-message').value });
  if (kind === 'http') Object.assign(effect, { status: Number($('fault-status').value), body: $('fault-body').value });
  if (kind === 'delay') {
    if ($('fault-min').value || $('fault-max').value) Object.assign(effect, { min_ms: Number($('fault-min').value), max_ms: Number($('fault-max').value) });
    else effect.ms = Number($('fault-ms').value);
  }
  if (APPLIES.includes(kind) && $('fault-applied').checked) effect.applied = true;
  spec.effect = effect;
  return spec;
}

// ---- snapshots and reset ----
refreshers.snapshots = async () => {
  const data = await ctl('GET', '/snapshots');
  const list = $('snapshots-list');
  if (!data.snapshots.length) { list.replaceChildren(h('li', { class: 'none' }, '没有快照 No snapshots')); return; }
  list.replaceChildren(...data.snapshots.map((s) => h('li', { dataset: { name: s.name } },
    h('span', { class: 'what' }, h('strong', {}, s.name), h('span', { class: 'sub' }, s.taken_at)),
    h('span', { class: 'actions' },
      h('button', { type: 'button', onclick: (e) => busy(e.currentTarget, () => ctl('POST', `/snapshots/${encodeURIComponent(s.name)}/restore`)) }, '恢复 Restore'),
      h('button', { type: 'button', class: 'danger-ghost', onclick: (e) => busy(e.currentTarget, () => ctl('DELETE', '/snapshots/' + encodeURIComponent(s.name))) }, '删除 Delete')))));
};

// ---- catalog and order form ----
// The catalog's records are the engine's own (sync_line, getsystems): lists
// are comma strings (the document also writes a full-width comma) and
// numbers are strings.
function words(text) { return String(text || '').split(/[,，]/).map((w) => w.trim()).filter(Boolean); }
function numbers(text) { return words(text).map(Number).filter(Number.isFinite); }

function fillSelect(select, options, keep) {
  const before = select.value;
  const fixed = Array.from(select.querySelectorAll('option[data-fixed]'));
  select.replaceChildren(...fixed, ...options);
  if (keep && Array.from(select.options).some((o) => o.value === before)) select.value = before;
}

async function loadCatalog() {
  const [catalog, users] = await Promise.all([ctl('GET', '/catalog'), ctl('GET', '/users')]);
  S.catalog = catalog;
  S.users = users.users;
  const members = () => S.users.map((u) => h('option', { value: u.userid }, u.userid));
  fillSelect($('order-member'), members(), true);
  fillSelect($('filter-member'), members(), true);
  fillSelect($('fault-userid'), members(), true);
  const zoneName = (guid) => (catalog.zones.find((z) => z.guid === guid) || {}).name || guid;
  fillSelect($('order-line'), catalog.lines.map((l) => h('option', { value: l.guid, disabled: l.buy_status !== '1' },
    `${zoneName(l.line_guid)} · ${l.name}` + (l.buy_status !== '1' ? ' (停售 not for sale)' : ''))), true);
  if ($('order-line').selectedOptions[0] && $('order-line').selectedOptions[0].disabled) {
    const first = catalog.lines.find((l) => l.buy_status === '1');
    if (first) $('order-line').value = first.guid;
  }
  fillOrderChoices();
}

function fillOrderChoices() {
  const c = S.catalog;
  if (!c) return;
  const line = c.lines.find((l) => l.guid === $('order-line').value);
  const products = c.products.filter((p) => line && p.line_guid === line.guid);
  fillSelect($('order-product'), products.map((p) => h('option', { value: p.guid, disabled: p.status !== '1' },
    `${p.name} · ${p.cpu_value}C/${p.memory_num}G` + (p.stock_type === '1' ? ` · 库存 stock ${p.stock_free}` : '') + (p.status !== '1' ? ' (下架 off sale)' : ''))), true);
  const selected = $('order-product').selectedOptions[0];
  if (!selected || selected.disabled) {
    const first = products.find((p) => p.status === '1');
    if (first) $('order-product').value = first.guid;
  }
  const product = products.find((p) => p.guid === $('order-product').value);
  const systems = c.systems.filter((s) => line && s.lines.includes(line.guid) && words(s.type).includes('create') && words(s.support).includes('baremetal'));
  fillSelect($('order-system'), systems.map((s) => {
    const [cpu, ram] = [Number(s.cpu_limit), Number(s.ram_limit)];
    const tooSmall = product && ((cpu > 0 && Number(product.cpu_value) < cpu) || (ram > 0 && Number(product.memory_num) < ram));
    return h('option', { value: s.guid, disabled: tooSmall }, s.name + (tooSmall ? ` (需 needs ${s.cpu_limit}C/${s.ram_limit}G)` : ''));
  }), true);
  fillSelect($('order-months'), (line ? numbers(line.months) : []).map((m) => h('option', { value: m }, `${m} 月 month${m > 1 ? 's' : ''}`)), true);
}

async function placeOrder(event) {
  event.preventDefault();
  const system = S.catalog.systems.find((s) => s.guid === $('order-system').value);
  const params = {
    lineGuid: $('order-line').value,
    productGuid: $('order-product').value,
    systemGuid: $('order-system').value,
    loginName: (system && system.login_name) || 'root',
    loginPassword: newPassword(),
    months: $('order-months').value,
    num: $('order-num').value,
    system_partition_size: '-1',
    agent_order_no: newOrderNo(),
    buyRemarks: 'dashboard demo',
  };
  const out = $('order-result');
  const r = await demoCall(event.submitter, 'create', params, out);
  const data = r && r.answer && r.answer.code === 0 ? r.answer.data : null;
  if (Array.isArray(data) && data.length) {
    out.replaceChildren('✔ 已下单 Ordered: ', ...data.map((d, i) => [i ? ', ' : '',
      h('button', { type: 'button', class: 'link', onclick: () => openDetail(d.guid) }, d.guid)]).flat(),
    ' — 开通中 provisioning; move the clock to bring it up.');
    refresh('catalog');
  }
}
refreshers.catalog = loadCatalog;
refreshers.namespaces = () => loadNamespaces();

// ---- namespaces ----
// `GET /_mock/namespaces` lists objects with a `name` each.
function namespaceNames(data) {
  return data.namespaces.map((n) => (typeof n === 'string' ? n : n.name));
}

async function loadNamespaces() {
  const listed = namespaceNames(await request('GET', '/_mock/namespaces'));
  const names = listed.includes(S.ns) ? listed : [...listed, S.ns];
  const select = $('ns-select');
  // Rebuilt only when the list changed, so an open picker is left alone.
  if (Array.from(select.options, (o) => o.value).join('\n') !== names.join('\n')) {
    fillSelect(select, names.map((n) => h('option', { value: n }, n)), false);
  }
  select.value = S.ns;
}

function hashParam(name) {
  const m = new RegExp('(?:^|[#&])' + name + '=([^&]+)').exec(location.hash);
  return m ? decodeURIComponent(m[1]) : null;
}
const nsFromHash = () => hashParam('ns') || 'default';

async function switchNamespace(ns) {
  S.ns = ns;
  if (location.hash !== '#ns=' + encodeURIComponent(ns)) history.replaceState(null, '', ns === 'default' ? location.pathname : '#ns=' + encodeURIComponent(ns));
  closeDetail();
  S.expanded.clear();
  $('fell-due').replaceChildren();
  await loadNamespaces();
  await loadCatalog();
  refreshAll();
  listen();
}

// ---- token gate ----
function showGate(message) {
  S.started = false;
  listenGeneration++;
  if (listenAbort) listenAbort.abort();
  $('app').hidden = true;
  $('token-gate').hidden = false;
  $('token-error').textContent = S.token ? '✕ 令牌不对 Wrong token' + (message ? ': ' + message : '') : '';
  $('token-input').focus();
}

async function start() {
  try {
    await loadNamespaces();
  } catch (e) {
    if (e instanceof Refused) return;
    showBanner('✕ ' + e.message);
    return;
  }
  $('token-gate').hidden = true;
  $('app').hidden = false;
  S.started = true;
  S.ns = nsFromHash();
  // A link may name an instance to open: #guid=… (with or without ns=…).
  const guid = hashParam('guid');
  $('ns-select').value = S.ns;
  await switchNamespace(S.ns).catch(reportError);
  if (guid) openDetail(guid);
}

// ---- wiring ----
function wire() {
  for (const action of VOCAB.actions) {
    $('fault-action').append(h('option', { value: action }, action));
    $('journal-action').append(h('option', { value: action }, action));
  }
  for (const group of document.querySelectorAll('#filter-status optgroup[data-field]')) {
    const field = group.dataset.field;
    group.append(...VOCAB.states[field].map((s) => h('option', { value: `${field}=${s.code}` }, `${s.zh} ${s.en}`)));
  }
  for (const sel of ['filter-member', 'fault-userid', 'fault-action', 'journal-action', 'journal-code']) {
    for (const o of $(sel).options) o.dataset.fixed = '1';
  }
  $('token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    S.token = $('token-input').value.trim();
    sessionStorage.setItem(TOKEN_KEY, S.token);
    $('token-input').value = '';
    start();
  });
  $('ns-select').addEventListener('change', (e) => switchNamespace(e.target.value).catch(reportError));
  window.addEventListener('hashchange', () => { if (S.started && nsFromHash() !== S.ns) switchNamespace(nsFromHash()).catch(reportError); });

  for (const id of ['adv-30s', 'adv-1h', 'adv-1d']) {
    $(id).addEventListener('click', (e) => advanceBy(e.currentTarget, Number(e.currentTarget.dataset.seconds)));
  }
  $('adv-1mo').addEventListener('click', (e) =>
    moveClock(e.currentTarget, () => ctl('POST', '/clock/set', { now: formatTime(addMonth(engineNow())) })));
  $('advance-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const seconds = parseDuration($('advance-input').value);
    if (!Number.isFinite(seconds)) { showBanner('✕ 无法识别的时长 Not a duration: try 90, 45m, 2h or 1d12h'); return; }
    advanceBy(e.submitter, seconds);
  });
  $('clock-freeze').addEventListener('click', (e) => busy(e.currentTarget, async () => setClock(await ctl('POST', '/clock/freeze'))));
  $('clock-resume').addEventListener('click', (e) => busy(e.currentTarget, async () => setClock(await ctl('POST', '/clock/resume'))));

  $('filter-member').addEventListener('change', () => refresh('instances'));
  $('filter-status').addEventListener('change', () => refresh('instances'));
  $('detail-close').addEventListener('click', closeDetail);

  $('journal-action').addEventListener('change', () => refresh('journal'));
  $('journal-code').addEventListener('change', () => refresh('journal'));
  $('journal-guid').addEventListener('input', () => refresh('journal'));
  $('journal-filters').addEventListener('submit', (e) => e.preventDefault());
  $('instance-filters').addEventListener('submit', (e) => e.preventDefault());
  $('journal-clear').addEventListener('click', (e) => busy(e.currentTarget, () => ctl('DELETE', '/requests')));

  $('callback-member').addEventListener('change', fillCallbackUrl);
  $('callback-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const url = $('callback-url').value.trim();
    busy(e.submitter, () => ctl('PUT', `/users/${encodeURIComponent($('callback-member').value)}/callback`, { url: url || null }));
  });

  $('fault-kind').addEventListener('change', () => {
    for (const fs of document.querySelectorAll('fieldset.effect')) fs.hidden = fs.dataset.kind !== $('fault-kind').value;
    $('fault-applied-label').hidden = !APPLIES.includes($('fault-kind').value);
  });
  $('fault-form').addEventListener('submit', (e) => {
    e.preventDefault();
    busy(e.submitter, () => ctl('POST', '/faults', faultSpec()));
  });

  $('snapshot-form').addEventListener('submit', (e) => {
    e.preventDefault();
    busy(e.submitter, async () => { await ctl('POST', '/snapshots', { name: $('snapshot-name').value.trim() }); $('snapshot-name').value = ''; });
  });
  $('reset-btn').addEventListener('click', () => { $('reset-confirm').hidden = false; $('reset-yes').focus(); });
  $('reset-no').addEventListener('click', () => { $('reset-confirm').hidden = true; });
  $('reset-yes').addEventListener('click', (e) => busy(e.currentTarget, async () => {
    await ctl('POST', '/reset');
    $('reset-confirm').hidden = true;
    closeDetail();
    $('fell-due').replaceChildren();
    await loadCatalog();
  }));

  $('order-line').addEventListener('change', fillOrderChoices);
  $('order-product').addEventListener('change', fillOrderChoices);
  $('order-form').addEventListener('submit', (e) => placeOrder(e).catch(reportError));

  // Namespaces come and go with the suites that use them.
  setInterval(() => { if (S.started) loadNamespaces().catch(reportError); }, 5000);
  // The engine clock and countdowns tick between events.
  setInterval(() => {
    if (!S.started) return;
    renderClock();
    for (const el of document.querySelectorAll('.countdown[data-due]')) el.textContent = countdownText(el.dataset.due);
  }, 1000);
}

// Resources that failed to load (a 404 stylesheet leaves no error event).
window.addEventListener('load', () => {
  for (const r of performance.getEntriesByType('resource')) {
    if (r.responseStatus >= 400) pageErrors.push(`resource: ${r.name} answered ${r.responseStatus}`);
  }
});

wire();
start();
