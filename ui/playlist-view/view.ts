// The playlist view: renders a recommend_by_genre / similar_tracks / sequence_playlist / tracks_by_artist
// result as cards and charts, and acts through the host bridge by calling this server's tools.
import { App, applyDocumentTheme, applyHostStyleVariables, type McpUiHostContext } from '@modelcontextprotocol/ext-apps';
import {
  ARCS,
  bandsFromProfile,
  isOutlier,
  playlistOf,
  spotifyLines,
  withoutArtists,
  type Arc,
  type GenreBands,
  type Playlist,
  type ToolName,
  type Track,
} from './model.js';

const SVG = 'http://www.w3.org/2000/svg';
const VIEW_TOOLS: readonly string[] = ['recommend_by_genre', 'similar_tracks', 'sequence_playlist', 'tracks_by_artist'];
/** The most tracks a list tool returns in one call. */
const MAX_LIMIT = 100;

type Attrs = Record<string, string | number>;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  e.append(...children);
  return e;
}

function svg(tag: string, attrs: Attrs = {}, ...children: (Node | string)[]): SVGElement {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  e.append(...children);
  return e;
}

const round = (v: number, d = 3) => Number(v.toFixed(d));

// ---- state ----------------------------------------------------------------------------------------

const root = document.getElementById('app')!;
const status = document.getElementById('status')!;
let hostTool: string | undefined;
let inputArgs: Record<string, unknown> = {};
let current: Playlist | null = null;
let bands: GenreBands = {};
const excluded = new Set<string>();
let renders = 0;
const shown = { valence: true, tempo: false };

function say(message: string, kind: 'info' | 'error' = 'info'): void {
  status.textContent = message;
  status.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  status.dataset.kind = kind;
}

// ---- rendering ------------------------------------------------------------------------------------

/** A drawn cover: two colours from the track id and the title's initials. */
function placeholder(t: Track): SVGElement {
  let h = 0;
  for (const c of t.track_id) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  const hue = h % 360;
  const initials = (t.name ?? '')
    .split(/\s+/)
    .map((w) => /[\p{L}\p{N}]/u.exec(w)?.[0] ?? '')
    .filter(Boolean)
    .slice(0, 2)
    .join('')
    .toUpperCase();
  return svg(
    'svg',
    { viewBox: '0 0 64 64', class: 'art placeholder', 'aria-hidden': 'true' },
    svg('rect', { width: 64, height: 64, fill: `hsl(${hue} 45% 38%)` }),
    svg('circle', { cx: 44, cy: 20, r: 26, fill: `hsl(${(hue + 60) % 360} 50% 55%)`, opacity: 0.55 }),
    svg('text', { x: 32, y: 40, 'text-anchor': 'middle', 'font-size': 20, fill: '#fff', 'font-weight': 700 }, initials),
  );
}

const BAR_FEATURES: [string, string, number][] = [
  ['energy', 'Energy', 1],
  ['valence', 'Valence', 1],
  ['danceability', 'Danceability', 1],
  ['acousticness', 'Acousticness', 1],
  ['tempo', 'Tempo', 220],
];

function bars(t: Track): HTMLElement {
  const list = el('ul', { class: 'bars', 'aria-label': 'audio features' });
  for (const [f, label, max] of BAR_FEATURES) {
    const v = t.features[f];
    if (typeof v !== 'number') continue;
    const text = f === 'tempo' ? `${Math.round(v)} BPM` : v.toFixed(2);
    const meter = el('span', { class: 'meter', role: 'meter', 'aria-label': label, 'aria-valuemin': 0, 'aria-valuemax': max, 'aria-valuenow': round(v), 'aria-valuetext': text });
    meter.append(el('span', { class: `fill f-${f}`, style: `width:${Math.min(100, (100 * v) / max).toFixed(1)}%` }));
    list.append(el('li', {}, el('span', { class: 'label' }, label), meter, el('span', { class: 'value' }, text)));
  }
  return list;
}

function card(t: Track, n: number, p: Playlist): HTMLElement {
  const title = t.name ?? '(untitled)';
  const outlier = isOutlier(t, bands);
  const actions = el(
    'div',
    { class: 'actions' },
    el('button', { type: 'button', 'data-action': 'more', 'aria-label': `More like ${title}` }, 'More like this'),
  );
  const main = t.artists[0];
  // Every track of tracks_by_artist credits the asked artist: excluding it would empty the list.
  if (main && p.tool !== 'tracks_by_artist') {
    actions.append(el('button', { type: 'button', 'data-action': 'exclude', 'data-artist': main, 'aria-label': `Exclude ${main}` }, `Exclude ${main}`));
  }
  const meta = [t.album, t.release_year].filter((x) => x !== null && x !== undefined).join(' · ');
  const li = el(
    'li',
    { class: `card${outlier ? ' outlier' : ''}`, 'data-track-id': t.track_id, 'aria-labelledby': `t-${n}` },
    // The snapshot holds no album art (enrichment keeps artist images only): a cover drawn from the track.
    placeholder(t),
    el(
      'div',
      { class: 'body' },
      el('h3', { id: `t-${n}` }, el('span', { class: 'pos' }, `${n + 1}.`), ' ', title),
      el('p', { class: 'artists' }, t.artists.join(', ') || '(unknown artist)'),
      el('p', { class: 'album' }, meta),
      el('p', { class: 'reason' }, t.reason ?? (t.camelot ? `key ${t.camelot}` : t.credit ? `${t.credit} credit` : '')),
      ...(outlier ? [el('p', { class: 'flag' }, `outside the ${p.genre} middle 80%`)] : []),
      bars(t),
      actions,
    ),
  );
  return li;
}

const W = 640;
const H = 200;
const M = { l: 40, r: 44, t: 12, b: 30 };

/** Energy (and valence, tempo on demand) along the play order. */
function arcChart(p: Playlist): SVGElement {
  const n = p.tracks.length;
  const x = (i: number) => M.l + (n <= 1 ? (W - M.l - M.r) / 2 : (i * (W - M.l - M.r)) / (n - 1));
  const y = (v: number) => M.t + (1 - v) * (H - M.t - M.b);
  const tempos = p.tracks.map((t) => t.features.tempo);
  const tLo = Math.floor(Math.min(...tempos, 80) / 20) * 20;
  const tHi = Math.ceil(Math.max(...tempos, 160) / 20) * 20;
  const yt = (v: number) => y((v - tLo) / (tHi - tLo));
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart arc', role: 'img', 'aria-labelledby': 'arc-title arc-desc' });
  chart.append(
    svg('title', { id: 'arc-title' }, 'Energy along the play order'),
    svg('desc', { id: 'arc-desc' }, p.tracks.map((t, i) => `${i + 1}: energy ${t.features.energy.toFixed(2)}`).join('; ')),
  );
  const e = bands.energy;
  if (e) chart.append(svg('rect', { class: 'band', x: M.l, width: W - M.l - M.r, y: y(e.p90), height: y(e.p10) - y(e.p90) }));
  const axis = svg('g', { class: 'axis y-axis', 'data-axis': 'energy' });
  for (const v of [0, 0.25, 0.5, 0.75, 1]) {
    axis.append(svg('line', { x1: M.l, x2: W - M.r, y1: y(v), y2: y(v), class: 'grid' }), svg('text', { x: M.l - 6, y: y(v) + 4, 'text-anchor': 'end' }, v.toFixed(2)));
  }
  const xAxis = svg('g', { class: 'axis x-axis', 'data-axis': 'position' });
  for (let i = 0; i < n; i++) if (n <= 12 || i % Math.ceil(n / 12) === 0) xAxis.append(svg('text', { x: x(i), y: H - 10, 'text-anchor': 'middle' }, String(i + 1)));
  chart.append(axis, xAxis);
  const series: [string, (t: Track) => number, (v: number) => number][] = [['energy', (t) => t.features.energy, y]];
  if (shown.valence) series.push(['valence', (t) => t.features.valence, y]);
  if (shown.tempo) {
    series.push(['tempo', (t) => t.features.tempo, yt]);
    const right = svg('g', { class: 'axis y-axis-right', 'data-axis': 'tempo' });
    for (let v = tLo; v <= tHi; v += (tHi - tLo) / 4) right.append(svg('text', { x: W - M.r + 6, y: yt(v) + 4 }, `${Math.round(v)}`));
    right.append(svg('text', { x: W - 4, y: M.t + 2, 'text-anchor': 'end', class: 'unit' }, 'BPM'));
    chart.append(right);
  }
  for (const [name, get, scale] of series) {
    chart.append(svg('polyline', { class: `line s-${name}`, points: p.tracks.map((t, i) => `${x(i).toFixed(1)},${scale(get(t)).toFixed(1)}`).join(' ') }));
    const g = svg('g', { class: `points s-${name}`, 'data-series': name });
    p.tracks.forEach((t, i) => {
      const v = get(t);
      g.append(svg('circle', { cx: x(i).toFixed(1), cy: scale(v).toFixed(1), r: 4, 'data-value': v }, svg('title', {}, `${i + 1}. ${t.name ?? ''}: ${name} ${name === 'tempo' ? Math.round(v) : v.toFixed(2)}`)));
    });
    chart.append(g);
  }
  return chart;
}

const S = 300;
const SM = 40;

/** The list on energy × valence over the genre's p10–p90 band; outliers ringed. */
function scatter(p: Playlist): SVGElement {
  const sx = (v: number) => SM + v * (S - 2 * SM);
  const sy = (v: number) => S - SM - v * (S - 2 * SM);
  const chart = svg('svg', { viewBox: `0 0 ${S} ${S}`, class: 'chart scatter', role: 'img', 'aria-labelledby': 'sc-title sc-desc' });
  const outliers = p.tracks.map((t, i) => (isOutlier(t, bands) ? i + 1 : 0)).filter(Boolean);
  chart.append(
    svg('title', { id: 'sc-title' }, `Energy against valence${p.genre ? `, over the ${p.genre} middle 80%` : ''}`),
    svg('desc', { id: 'sc-desc' }, outliers.length ? `outliers: ${outliers.join(', ')}` : 'no outliers'),
  );
  const { energy: e, valence: v } = bands;
  if (e && v) {
    chart.append(svg('rect', { class: 'band', 'data-valence': `${v.p10}-${v.p90}`, 'data-energy': `${e.p10}-${e.p90}`, x: sx(v.p10), y: sy(e.p90), width: sx(v.p90) - sx(v.p10), height: sy(e.p10) - sy(e.p90) }));
  }
  const axes = svg('g', { class: 'axis' });
  for (const t of [0, 0.5, 1]) {
    axes.append(
      svg('line', { class: 'grid', x1: sx(t), x2: sx(t), y1: sy(0), y2: sy(1) }),
      svg('line', { class: 'grid', x1: sx(0), x2: sx(1), y1: sy(t), y2: sy(t) }),
      svg('text', { x: sx(t), y: S - SM + 14, 'text-anchor': 'middle' }, t.toFixed(1)),
      svg('text', { x: SM - 6, y: sy(t) + 4, 'text-anchor': 'end' }, t.toFixed(1)),
    );
  }
  axes.append(
    svg('text', { class: 'axis-label', 'data-axis': 'valence', x: S / 2, y: S - 6, 'text-anchor': 'middle' }, 'valence →'),
    svg('text', { class: 'axis-label', 'data-axis': 'energy', x: 10, y: S / 2, 'text-anchor': 'middle', transform: `rotate(-90 10 ${S / 2})` }, 'energy →'),
  );
  chart.append(axes);
  const g = svg('g', { class: 'points' });
  p.tracks.forEach((t, i) => {
    const out = isOutlier(t, bands);
    g.append(
      svg(
        'circle',
        { cx: sx(t.features.valence).toFixed(1), cy: sy(t.features.energy).toFixed(1), r: out ? 6 : 4.5, class: out ? 'outlier' : '', 'data-energy': t.features.energy, 'data-valence': t.features.valence },
        svg('title', {}, `${i + 1}. ${t.name ?? ''}: energy ${t.features.energy.toFixed(2)}, valence ${t.features.valence.toFixed(2)}${out ? ' (outlier)' : ''}`),
      ),
    );
  });
  chart.append(g);
  return chart;
}

function arcFigure(p: Playlist): HTMLElement {
  const caption = el('figcaption', {}, 'Along the play order: ', legend('energy'));
  if (shown.valence) caption.append(' ', legend('valence'));
  if (shown.tempo) caption.append(' ', legend('tempo', 'tempo (BPM, right axis)'));
  return el('figure', { class: 'arc-figure' }, arcChart(p), caption);
}

function legend(series: string, label = series): HTMLElement {
  return el('span', { class: 'legend' }, el('span', { class: `swatch s-${series}`, 'aria-hidden': 'true' }), label);
}

function toolbar(p: Playlist): HTMLElement {
  const select = el('select', { id: 'arc', 'aria-label': 'Arc to re-sequence as' });
  for (const a of ARCS) {
    const o = el('option', { value: a }, a);
    if (a === (p.arc ?? 'peak')) o.selected = true;
    select.append(o);
  }
  const toggle = (key: 'valence' | 'tempo', label: string) => {
    const box = el('input', { type: 'checkbox', id: `show-${key}` });
    box.checked = shown[key];
    box.addEventListener('change', () => {
      shown[key] = box.checked;
      document.querySelector('.arc-figure')?.replaceWith(arcFigure(p));
    });
    return el('label', { for: `show-${key}` }, box, ` ${label}`);
  };
  return el(
    'div',
    { class: 'toolbar' },
    el('label', { for: 'arc' }, 'Re-sequence as '),
    select,
    el('button', { type: 'button', 'data-action': 'resequence' }, 'Re-sequence'),
    el('span', { class: 'sep' }),
    el('button', { type: 'button', 'data-action': 'copy-links' }, 'Copy as Spotify links'),
    el('button', { type: 'button', 'data-action': 'copy-uris' }, 'Copy as Spotify URIs'),
    el('span', { class: 'sep' }),
    toggle('valence', 'valence'),
    toggle('tempo', 'tempo'),
  );
}

function render(p: Playlist): void {
  current = p;
  renders += 1;
  const copy = el('textarea', { id: 'copied', readonly: '', rows: 3, 'aria-label': 'Copied Spotify links or URIs', hidden: '' });
  root.replaceChildren(
    el('header', {}, el('h2', { id: 'title' }, p.title), p.genre ? el('p', { class: 'sub' }, `shaded: ${p.genre} middle 80% (p10–p90)`) : ''),
    toolbar(p),
    copy,
    el('section', { class: 'charts', 'aria-label': 'charts' }, arcFigure(p), el('figure', {}, scatter(p), el('figcaption', {}, 'Energy × valence'))),
    el('ol', { class: 'cards', 'aria-label': 'tracks' }, ...p.tracks.map((t, i) => card(t, i, p))),
  );
  root.dataset.tool = p.tool;
  root.dataset.renders = String(renders);
}

// ---- data from the server -------------------------------------------------------------------------

async function loadBands(genre: string | null): Promise<void> {
  bands = {};
  if (!genre) return;
  try {
    const r = await app.readServerResource({ uri: `music://genres/${encodeURIComponent(genre)}` });
    const doc = r.contents[0];
    if (doc && 'text' in doc && typeof doc.text === 'string') bands = bandsFromProfile(doc.text);
  } catch (err) {
    say(`genre profile of ${genre} not available: ${(err as Error).message}`, 'error');
  }
}

async function show(tool: string | undefined, args: Record<string, unknown>, result: { structuredContent?: unknown; isError?: boolean; content?: unknown }): Promise<void> {
  if (result.isError) {
    say(errorText(result), 'error');
    return;
  }
  const p = playlistOf(tool && VIEW_TOOLS.includes(tool) ? (tool as ToolName) : null, args, result.structuredContent);
  if (typeof p === 'string') {
    say(p, 'error');
    return;
  }
  await loadBands(p.genre);
  render(p);
  say('');
}

function errorText(result: { content?: unknown }): string {
  const first = Array.isArray(result.content) ? result.content[0] : undefined;
  return first && typeof first === 'object' && 'text' in first ? String(first.text) : 'the tool answered with an error';
}

async function call(name: ToolName, args: Record<string, unknown>, after?: (p: Playlist) => Playlist): Promise<void> {
  root.setAttribute('aria-busy', 'true');
  say(`asking ${name}…`);
  try {
    const result = await app.callServerTool({ name, arguments: args });
    if (result.isError) {
      say(errorText(result), 'error');
      return;
    }
    const p = playlistOf(name, args, result.structuredContent);
    if (typeof p === 'string') {
      say(p, 'error');
      return;
    }
    await loadBands(p.genre);
    render(after ? after(p) : p);
    say(`${name} answered ${p.tracks.length} tracks`);
  } catch (err) {
    say(`${name} failed: ${(err as Error).message}`, 'error');
  } finally {
    root.removeAttribute('aria-busy');
  }
}

// ---- actions --------------------------------------------------------------------------------------

function moreLike(t: Track, p: Playlist): Promise<void> {
  return call('similar_tracks', { seed_tracks: [t.track_id], limit: Math.max(p.tracks.length, 5) });
}

function exclude(artist: string, p: Playlist): Promise<void> {
  excluded.add(artist);
  const without = [...excluded].join(', ');
  if (p.tool === 'recommend_by_genre' || p.tool === 'similar_tracks') {
    // Ask again for the most the tool returns and drop the excluded artists, keeping the list's length.
    const relabel = (q: Playlist): Playlist => {
      const tracks = withoutArtists(q.tracks, excluded).slice(0, p.tracks.length);
      return { ...q, tracks, title: `${q.title.replace(/^\d+/, String(tracks.length))}, without ${without}` };
    };
    return call(p.tool, { ...p.args, limit: MAX_LIMIT }, relabel);
  }
  const rest = withoutArtists(p.tracks, excluded);
  if (rest.length < 2) {
    say(`excluding ${artist} leaves fewer than 2 tracks`, 'error');
    return Promise.resolve();
  }
  return call('sequence_playlist', { tracks: rest.map((t) => t.track_id), arc: p.arc ?? 'peak' });
}

function resequence(arc: Arc, p: Playlist): Promise<void> {
  if (p.tracks.length < 2) {
    say('a list of one track has no order to change', 'error');
    return Promise.resolve();
  }
  return call('sequence_playlist', { tracks: p.tracks.map((t) => t.track_id), arc });
}

async function copy(form: 'links' | 'uris', p: Playlist): Promise<void> {
  const text = spotifyLines(p.tracks, form);
  const area = document.getElementById('copied') as HTMLTextAreaElement;
  area.value = text;
  area.hidden = false;
  area.dataset.form = form;
  area.select();
  let copied = false;
  try {
    await navigator.clipboard.writeText(text);
    copied = true;
  } catch {
    copied = document.execCommand('copy');
  }
  say(copied ? `copied ${p.tracks.length} ${form === 'links' ? 'links' : 'URIs'}` : `select the ${form === 'links' ? 'links' : 'URIs'} below and copy them (the host blocks the clipboard)`);
}

root.addEventListener('click', (ev) => {
  const button = (ev.target as Element).closest('button[data-action]');
  const p = current;
  if (!button || !p || root.getAttribute('aria-busy') === 'true') return;
  const action = button.getAttribute('data-action');
  const id = button.closest('[data-track-id]')?.getAttribute('data-track-id');
  const track = p.tracks.find((t) => t.track_id === id);
  if (action === 'more' && track) void moreLike(track, p);
  else if (action === 'exclude') void exclude(button.getAttribute('data-artist') ?? '', p);
  else if (action === 'resequence') void resequence((document.getElementById('arc') as HTMLSelectElement).value as Arc, p);
  else if (action === 'copy-links') void copy('links', p);
  else if (action === 'copy-uris') void copy('uris', p);
});

// ---- host bridge ----------------------------------------------------------------------------------

function applyContext(ctx: McpUiHostContext | undefined): void {
  if (!ctx) return;
  if (ctx.theme) applyDocumentTheme(ctx.theme);
  if (ctx.styles?.variables) applyHostStyleVariables(ctx.styles.variables);
  if (ctx.toolInfo?.tool.name) hostTool = ctx.toolInfo.tool.name;
}

const app = new App({ name: 'music-playlist-view', version: '1.0.0' }, {}, { autoResize: true });
app.ontoolinput = (params) => {
  inputArgs = params.arguments ?? {};
};
app.ontoolresult = (result) => {
  excluded.clear();
  void show(hostTool, inputArgs, result);
};
app.onhostcontextchanged = (ctx) => {
  applyContext(ctx);
  if (current && ctx.theme) render(current);
};
say('waiting for a tool result…');
app
  .connect()
  .then(() => applyContext(app.getHostContext()))
  .catch((err: Error) => say(`cannot reach the host: ${err.message}`, 'error'));
