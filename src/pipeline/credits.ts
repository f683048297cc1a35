/**
 * Multi-artist credits: which separator a credit column uses, and how each cell splits into artists.
 *
 * Exports join co-credits differently: the Kaggle file writes `21 Savage;Metro Boomin`, others
 * `21 Savage, Metro Boomin` (or `,` without a space). The separator is recognised per column from the
 * data, in a first read of the file (see ingest.ts), and every cell is split at ingest into the staged
 * `artist_credits` column (names joined by U+001F, which no name holds). The dbt models split that column
 * only, so the embedded runner and dbt-core cannot disagree, and the catalog-wide evidence below (which
 * needs every row of the file) is computed once, in one language.
 *
 * Recognising the separator. Candidates, in order of preference: `;`, `|`, `, `, `,`. A cell "has
 * co-credit evidence" for a candidate when it splits on it into two or more parts and one of the parts
 * is elsewhere a cell of its own (an artist credited alone). `;` never occurs inside real artist
 * names, so any occurrence makes it eligible; `|` and commas do (`M|O|O|N`, `Tyler, The Creator`), so
 * they are eligible only with evidence. The eligible candidate with the most evidence wins (ties: the earlier
 * one), so a file joined by `, ` is split there and not at the comma of `nothing,nowhere.`. No eligible
 * candidate: every cell is one artist. A comma-joined column is also split on `;` where cells
 * hold it (a file assembled from several exports); a `;`-joined one is never split on commas.
 *
 * Names that contain the separator (only commas do) are kept whole when:
 * - **exception list**: the span is a name in `KEPT_WHOLE_NAMES` (well-known acts whose parts are also
 *   catalog artists or whose shape says nothing, e.g. `Orchestra del Teatro alla Scala, Milano`); or
 * - **catalog evidence**: the span has the shape of one name (`X, The Y` / `X, el Y` and other articles;
 *   `X, Jr.` and other generational suffixes; `A, B & C` / `A, B and C` whose leading parts are single
 *   words) and none of its parts ever occurs in the file apart from such a span: not as a cell of its
 *   own, not beside other artists. `Tyler, The Creator, Kali Uchis` keeps `Tyler, The Creator` when
 *   `Tyler` and `The Creator` are never credited apart; `Shane MacGowan, The Pogues` is split when
 *   `The Pogues` also has tracks of its own.
 */

/** Joins the names of one staged `artist_credits` cell (ASCII unit separator; dbt splits on it). */
export const CREDIT_JOIN = '\u001f';

export interface SeparatorCandidate {
  /** The text between two names. */
  readonly token: string;
  /** Whether the token also occurs inside single names, so co-credit evidence is needed to believe it. */
  readonly occursInNames: boolean;
}

export const SEPARATOR_CANDIDATES: readonly SeparatorCandidate[] = [
  { token: ';', occursInNames: false },
  // `M|O|O|N` and `Division | North` are single artists in the TidyTuesday file.
  { token: '|', occursInNames: true },
  { token: ', ', occursInNames: true },
  { token: ',', occursInNames: true },
];

/**
 * Acts whose name holds a comma and that the shape rules cannot vouch for (a part is also a catalog
 * artist, e.g. `Milano`; or the name has no telling shape). Compared after folding (case, accents,
 * spacing). Keep it short: the evidence rule is the main one.
 */
export const KEPT_WHOLE_NAMES: readonly string[] = [
  'Tyler, The Creator',
  'Earth, Wind & Fire',
  'Crosby, Stills & Nash',
  'Crosby, Stills, Nash & Young',
  'Emerson, Lake & Palmer',
  'Peter, Paul and Mary',
  'Blood, Sweat & Tears',
  'Orchestra del Teatro alla Scala, Milano',
  'Orchestra of the Royal Opera House, Covent Garden',
  'Chorus of the Royal Opera House, Covent Garden',
  "Choir of King's College, Cambridge",
  'Fear, and Loathing in Las Vegas',
  'Slaughter Beach, Dog',
  'Defiance, Ohio',
  'Oh, Sleeper',
  'Chunk! No, Captain Chunk!',
  'Now, Now',
];

export type KeptWholeRule = 'exception list' | 'catalog evidence';

/** What a credit column's detection and split came to; kept in the ingest report and the run record. */
export interface CreditColumnReport {
  column: string;
  /** The separator recognised, or null: one artist per cell. */
  separator: string | null;
  /** Separators never found inside names (`;`) that some cells of a comma-joined column use too. */
  alsoSplitOn: string[];
  /** Distinct cells with co-credit evidence for the separator (see the module header). */
  evidence: number;
  /** Rows whose credit was split into two or more artists. */
  rowsSplit: number;
  /** Artists credited on those rows, in all. */
  creditsFromSplits: number;
  /** Names kept whole although they contain the separator, by the rule that kept them. */
  keptWhole: Record<KeptWholeRule, { names: number; rows: number; examples: string[] }>;
}

/** Case, accents and spacing folded: the comparison key of a name or a part. */
export function foldName(name: string): string {
  return name.normalize('NFD').replace(/\p{M}+/gu, '').toLowerCase().replace(/[\s\p{Z}]+/gu, ' ').trim();
}

const ARTICLE = /^(?:the|el|la|los|las|le|les|der|die|das|il|lo) \S/;
const SUFFIX = new Set(['jr', 'jr.', 'sr', 'sr.', 'ii', 'iii', 'iv']);
const LIST_END = / (?:&|and|y|e|et|und) /;
const EXAMPLES = 5;
/** A span seen on a single track is no evidence: two artists credited together once look the same. */
const MIN_EVIDENCE_TRACKS = 2;

/** Counts distinct credit cells of one column as a file streams by (the first read of the ingest). */
export class CreditCellCounter {
  /** Cell text (as read) → distinct tracks credited so (a track repeats once per genre or playlist). */
  readonly cells = new Map<string, number>();
  private readonly seen = new Set<string>();

  add(cell: string, trackId: string): void {
    if (cell.length === 0) return;
    const pair = `${trackId}\u0000${cell}`;
    if (this.seen.has(pair)) return;
    this.seen.add(pair);
    this.cells.set(cell, (this.cells.get(cell) ?? 0) + 1);
  }
}

interface Part {
  readonly key: string;
  /** Where the part (trimmed) starts and ends in its cell. */
  readonly start: number;
  readonly end: number;
}

function partsOf(cell: string, token: string): Part[] {
  const parts: Part[] = [];
  let from = 0;
  for (const raw of cell.split(token)) {
    const text = raw.trim();
    if (text.length > 0) {
      const start = from + raw.indexOf(text);
      parts.push({ key: foldName(text), start, end: start + text.length });
    }
    from += raw.length + token.length;
  }
  return parts;
}

/** Spans [start, end] (inclusive, end > start) of `parts` that have the shape of one name. */
function shapeSpans(parts: readonly Part[]): [number, number][] {
  const spans: [number, number][] = [];
  const oneWord = (i: number): boolean => !parts[i]!.key.includes(' ');
  for (let i = 0; i + 1 < parts.length; i++) {
    const next = parts[i + 1]!.key;
    // `Tyler, The Creator`, `Francisco, el Hombre`: one word, then an article and at most two more words.
    if (oneWord(i) && ARTICLE.test(next) && next.split(' ').length <= 3) spans.push([i, i + 1]);
    // `Grover Washington, Jr.`
    else if (SUFFIX.has(next)) spans.push([i, i + 1]);
  }
  // `Earth, Wind & Fire`, `Crosby, Stills, Nash & Young`: single words, then `word & word`.
  for (let i = 0; i < parts.length; ) {
    let j = i;
    while (j < parts.length && oneWord(j)) j++;
    if (j > i && j < parts.length && LIST_END.test(parts[j]!.key) && parts[j]!.key.split(' ').length === 3) spans.push([i, j]);
    i = j + 1;
  }
  return spans;
}

function keyOf(parts: readonly Part[], start: number, end: number): string {
  return parts
    .slice(start, end + 1)
    .map((p) => p.key)
    .join('\u0000');
}

/** A name kept whole: the rule, the staged rows holding it, and its spelling where first met. */
interface KeptEntry {
  readonly rule: KeptWholeRule;
  rows: number;
  readonly shown: string;
}

/** Splits the cells of one credit column; made from the column's counted cells. */
export class CreditSplitter {
  private readonly cache = new Map<string, string>();
  private readonly kept = new Map<string, KeptEntry>();
  private rowsSplit = 0;
  private creditsFromSplits = 0;

  private constructor(
    readonly column: string,
    readonly separator: string | null,
    /** See CreditColumnReport.alsoSplitOn. */
    readonly alsoSplitOn: readonly string[],
    private readonly evidence: number,
    /** Accepted multi-part names (folded parts joined by NUL) → the rule that accepts them. */
    private readonly wholeNames: ReadonlyMap<string, KeptWholeRule>,
    private readonly longestWhole: number,
  ) {}

  /** A splitter with a given separator and no names kept whole (a record mapped without reading its file first). */
  static fixed(column: string, token: string): CreditSplitter {
    return new CreditSplitter(column, token, [], 0, new Map(), 0);
  }

  /** Recognise the column's separator and which names stay whole, from every cell of the file. */
  static fromCells(column: string, cells: ReadonlyMap<string, number>): CreditSplitter {
    const chosen = chooseSeparator(cells);
    if (chosen === null) return new CreditSplitter(column, null, [], 0, new Map(), 0);
    const { token, evidence } = chosen;
    const whole = new Map<string, KeptWholeRule>();
    const also: string[] = [];
    if (SEPARATOR_CANDIDATES.find((c) => c.token === token)!.occursInNames) {
      // A comma-joined column may hold a few cells joined otherwise (the TidyTuesday file has one `A;B`).
      for (const c of SEPARATOR_CANDIDATES) {
        if (!c.occursInNames && [...cells.keys()].some((cell) => cell.includes(c.token))) also.push(c.token);
      }
      for (const name of KEPT_WHOLE_NAMES) {
        const parts = partsOf(name, token);
        if (parts.length > 1) whole.set(keyOf(parts, 0, parts.length - 1), 'exception list');
      }
      for (const [k, rule] of evidenceNames(cells, token)) if (!whole.has(k)) whole.set(k, rule);
    }
    let longest = 0;
    for (const k of whole.keys()) longest = Math.max(longest, k.split('\u0000').length);
    return new CreditSplitter(column, token, also, evidence, whole, longest);
  }

  /** The cell's artists joined by CREDIT_JOIN (empty parts dropped); null for an empty cell. Counts what it did. */
  split(cell: string | null): string | null {
    if (cell === null) return null;
    const token = this.separator;
    if (token === null || (!cell.includes(token) && !this.alsoSplitOn.some((t) => cell.includes(t)))) {
      const name = clean(cell);
      return name.length === 0 ? null : name;
    }
    let joined = this.cache.get(cell);
    if (joined === undefined) {
      joined = this.splitCell(cell, token);
      this.cache.set(cell, joined);
    }
    const names = joined.length === 0 ? 0 : joined.split(CREDIT_JOIN).length;
    if (names > 1) {
      this.rowsSplit++;
      this.creditsFromSplits += names;
    }
    for (const name of this.keptByCell.get(cell) ?? []) name.rows++;
    return joined.length === 0 ? null : joined;
  }

  /** The names kept whole in each split cell (cells without any are absent). */
  private readonly keptByCell = new Map<string, KeptEntry[]>();

  private splitCell(cell: string, token: string): string {
    let pieces = [cell];
    for (const t of this.alsoSplitOn) pieces = pieces.flatMap((p) => p.split(t));
    const names: string[] = [];
    const keptHere: KeptEntry[] = [];
    for (const piece of pieces) this.splitPiece(piece, token, names, keptHere);
    if (keptHere.length > 0) this.keptByCell.set(cell, keptHere);
    return names.filter((n) => n.length > 0).join(CREDIT_JOIN);
  }

  /** Appends the names of one piece of a cell (split on the separator, names kept whole joined back). */
  private splitPiece(cell: string, token: string, names: string[], keptHere: KeptEntry[]): void {
    const parts = partsOf(cell, token);
    for (let i = 0; i < parts.length; ) {
      let taken = 1;
      for (let n = Math.min(this.longestWhole, parts.length - i); n > 1; n--) {
        const k = keyOf(parts, i, i + n - 1);
        const rule = this.wholeNames.get(k);
        if (rule === undefined) continue;
        taken = n;
        let entry = this.kept.get(k);
        if (!entry) {
          entry = { rule, rows: 0, shown: cell.slice(parts[i]!.start, parts[i + n - 1]!.end) };
          this.kept.set(k, entry);
        }
        keptHere.push(entry);
        break;
      }
      names.push(clean(cell.slice(parts[i]!.start, parts[i + taken - 1]!.end)));
      i += taken;
    }
  }

  report(): CreditColumnReport {
    const keptWhole: CreditColumnReport['keptWhole'] = {
      'exception list': { names: 0, rows: 0, examples: [] },
      'catalog evidence': { names: 0, rows: 0, examples: [] },
    };
    const byRows = [...this.kept.values()].sort((a, b) => b.rows - a.rows || a.shown.localeCompare(b.shown));
    for (const k of byRows) {
      const r = keptWhole[k.rule];
      r.names++;
      r.rows += k.rows;
      if (r.examples.length < EXAMPLES) r.examples.push(k.shown);
    }
    return {
      column: this.column,
      separator: this.separator,
      alsoSplitOn: [...this.alsoSplitOn],
      evidence: this.evidence,
      rowsSplit: this.rowsSplit,
      creditsFromSplits: this.creditsFromSplits,
      keptWhole,
    };
  }
}

/** A name as staged: U+001F (the join) becomes a space; an empty name becomes ''. */
function clean(name: string): string {
  return name.includes(CREDIT_JOIN) ? name.replaceAll(CREDIT_JOIN, ' ').trim() : name.trim();
}

/** The separator with the most co-credit evidence among the eligible candidates (module header), or null. */
export function chooseSeparator(cells: ReadonlyMap<string, number>): { token: string; evidence: number } | null {
  let best: { token: string; evidence: number } | null = null;
  const folded = new Map<string, string>();
  for (const cell of cells.keys()) folded.set(cell, foldName(cell));
  for (const candidate of SEPARATOR_CANDIDATES) {
    const { token } = candidate;
    const alone = new Set<string>();
    const holding: string[] = [];
    for (const [cell, key] of folded) {
      if (cell.includes(token)) holding.push(cell);
      else alone.add(key);
    }
    if (holding.length === 0) continue;
    let evidence = 0;
    for (const cell of holding) {
      const parts = partsOf(cell, token);
      if (parts.length > 1 && parts.some((p) => alone.has(p.key))) evidence++;
    }
    if (candidate.occursInNames && evidence === 0) continue;
    if (best === null || evidence > best.evidence) best = { token, evidence };
  }
  return best;
}

/**
 * Multi-part names the catalog vouches for: spans shaped like one name (shapeSpans) none of whose parts
 * occurs anywhere outside such a span: as a cell of its own or beside other artists.
 */
function evidenceNames(cells: ReadonlyMap<string, number>, token: string): Map<string, KeptWholeRule> {
  const apart = new Set<string>();
  const spans = new Map<string, string[]>();
  const tracks = new Map<string, number>();
  for (const [cell, n] of cells) {
    const parts = partsOf(cell, token);
    const covered = new Uint8Array(parts.length);
    for (const [start, end] of shapeSpans(parts)) {
      const k = keyOf(parts, start, end);
      spans.set(k, parts.slice(start, end + 1).map((p) => p.key));
      tracks.set(k, (tracks.get(k) ?? 0) + n);
      covered.fill(1, start, end + 1);
    }
    parts.forEach((p, i) => {
      if (covered[i] === 0) apart.add(p.key);
    });
  }
  const accepted = new Map<string, KeptWholeRule>();
  for (const [k, keys] of spans) {
    if ((tracks.get(k) ?? 0) >= MIN_EVIDENCE_TRACKS && !keys.some((p) => apart.has(p))) accepted.set(k, 'catalog evidence');
  }
  return accepted;
}

/** The run record's columns (src/pipeline/runs.ts) for the credit columns of one ingest. */
export function creditCounts(columns: readonly CreditColumnReport[]): {
  credit_separators: string;
  credits_split: number;
  credits_kept_whole: number;
  credit_notes: string;
} {
  let split = 0;
  let kept = 0;
  const notes: string[] = [];
  for (const c of columns) {
    split += c.rowsSplit;
    for (const [rule, k] of Object.entries(c.keptWhole)) {
      kept += k.rows;
      if (k.names === 0) continue;
      notes.push(
        `${c.column}: ${k.names} name(s) on ${k.rows} row(s) kept whole by ${rule}` +
          ` (e.g. ${k.examples.map((e) => JSON.stringify(e)).join(', ')})`,
      );
    }
  }
  return {
    credit_separators: columns
      .map((c) => `${c.column}: ${c.separator === null ? 'none' : JSON.stringify(c.separator)}${c.alsoSplitOn.map((t) => ` (also ${JSON.stringify(t)})`).join('')}`)
      .join('; '),
    credits_split: split,
    credits_kept_whole: kept,
    credit_notes: notes.length > 0 ? notes.join('; ') : 'no name kept whole',
  };
}
