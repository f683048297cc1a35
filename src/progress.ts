/**
 * The text view of the log for a person at a terminal: one line per pipeline step (download bytes,
 * ingest rows, dbt models and tests, publish) with its rate and ETA, warnings and errors as plain
 * lines, everything else left out. It reads the same pino records the JSON log carries (by level,
 * `step` and their fields), so the pipeline reports progress one way for both audiences.
 * On a TTY the step's line is rewritten in place as records arrive and ended when the step ends;
 * elsewhere only the finished line is written.
 */

/** Where the view writes: process.stderr, or a test's collector. */
export interface TextOut {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** A parsed pino record: level number, msg, and the record's fields. */
type LogRecord = Record<string, unknown> & { level?: number; msg?: string };

const LEVEL_WARN = 40;
const LEVEL_ERROR = 50;

const STEP_LABEL: Record<string, string> = {
  acquire: 'dataset', ingest: 'ingest', enrich: 'enrich', load: 'load', transform: 'dbt', publish: 'publish',
};

/** A step's line while it runs. */
interface Step {
  name: string;
  started: number;
  /** The step's current text, without its label. */
  text: string;
  /** What the line says when the step ends (null: the text with the elapsed time). */
  done: string | null;
  /** dbt: nodes to run and run so far. */
  models?: number; tests?: number; built?: number; tested?: number; testsFailed?: number;
}

export const count = (n: number): string => Math.round(n).toLocaleString('en-US');
export const megabytes = (bytes: number): string => (bytes < 1e6 ? `${Math.round(bytes / 1e3)} kB` : `${(bytes / 1e6).toFixed(1)} MB`);
export const seconds = (ms: number): string => (ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`);

/** `ETA 12 s` from the share done so far and the time it took; empty until there is something to go on. */
export function eta(elapsedMs: number, done: number, total: number): string {
  if (!(done > 0) || !(total > done) || elapsedMs <= 0) return '';
  return `, ETA ${seconds((elapsedMs * (total - done)) / done)}`;
}

/** `3,400 rows/s` from a count and the time it took. */
function rate(n: number, elapsedMs: number, unit: string): string {
  return elapsedMs > 0 ? `${count((n * 1000) / elapsedMs)} ${unit}/s` : `– ${unit}/s`;
}

export class ProgressView {
  private step: Step | null = null;
  /** Size of the dataset file, once a record names it: the ingest ETA is bytes read against it. */
  private datasetBytes = 0;

  constructor(
    private readonly out: TextOut,
    private readonly now: () => number = Date.now,
  ) {}

  /** One log line as pino writes it (JSON); a line that does not parse is shown as it is. */
  write(line: string): void {
    let rec: LogRecord;
    try {
      rec = JSON.parse(line) as LogRecord;
    } catch {
      this.say(line.trimEnd());
      return;
    }
    this.record(rec);
  }

  record(rec: LogRecord): void {
    const msg = typeof rec.msg === 'string' ? rec.msg : '';
    const level = typeof rec.level === 'number' ? rec.level : 30;
    if (typeof rec.bytes === 'number' && /^dataset: (using|downloaded)/.test(msg)) this.datasetBytes = rec.bytes;
    if (level >= LEVEL_WARN) {
      this.say(level >= LEVEL_ERROR ? msg : `warning: ${msg}`);
      return;
    }
    if (msg === 'pipeline finished') return this.end();
    const name = typeof rec.step === 'string' ? rec.step : null;
    if (!name) return;
    if (this.step?.name !== name) this.begin(name);
    this.update(this.step!, msg, rec);
  }

  /** A line of its own (the ready line, a failure): ends the step line first. */
  say(text: string): void {
    this.end();
    this.out.write(`${text}\n`);
  }

  /** Ends the current step line with what it achieved and how long it took. */
  end(): void {
    const s = this.step;
    if (!s) return;
    this.step = null;
    const text = s.done ?? `${s.text} (${seconds(this.now() - s.started)})`;
    this.out.write(`${this.out.isTTY ? '\r\x1b[2K' : ''}${STEP_LABEL[s.name] ?? s.name}: ${text}\n`);
  }

  private begin(name: string): void {
    this.end();
    const starting: Record<string, string> = {
      acquire: 'looking for the dataset', ingest: 'reading the CSV into staging', enrich: 'fetching from Spotify',
      load: 'copying staging into the warehouse', transform: 'building the models', publish: 'writing the serving snapshot',
    };
    this.step = { name, started: this.now(), text: starting[name] ?? 'running', done: null };
    this.show(this.step);
  }

  private update(s: Step, msg: string, rec: LogRecord): void {
    const elapsed = this.now() - s.started;
    const n = (k: string): number => (typeof rec[k] === 'number' ? (rec[k] as number) : 0);
    if (s.name === 'acquire') {
      if (msg === 'dataset: downloading') s.text = 'downloading';
      else if (typeof rec.total === 'number') {
        s.text = `downloading ${megabytes(n('bytes'))} of ${megabytes(n('total'))}, ${megabytes((n('bytes') * 1000) / Math.max(elapsed, 1))}/s${eta(elapsed, n('bytes'), n('total'))}`;
      } else if (msg.startsWith('dataset: downloaded ')) s.done = `downloaded ${megabytes(n('bytes'))} in ${seconds(elapsed)} (${megabytes((n('bytes') * 1000) / Math.max(elapsed, 1))}/s)`;
      else if (msg === 'dataset: using local file') s.done = `local file, ${megabytes(n('bytes'))}`;
      else if (msg === 'dataset: using cached download') s.done = `earlier download, ${megabytes(n('bytes'))}`;
      else if (typeof rec.bytes === 'number') s.text = `downloading, ${megabytes(n('bytes'))} so far`;
      else return;
    } else if (s.name === 'ingest') {
      if (msg === 'ingest progress') {
        s.text = `${count(n('rowsRead'))} rows, ${rate(n('rowsRead'), elapsed, 'rows')}${eta(elapsed, n('bytesRead'), this.datasetBytes)}`;
      } else if (msg === 'ingest finished') {
        const rejected = n('rowsRejected');
        s.done = `${count(n('rowsStaged'))} rows staged${rejected ? `, ${count(rejected)} rejected` : ''} in ${seconds(elapsed)} (${rate(n('rowsRead'), elapsed, 'rows')})`;
      } else return;
    } else if (s.name === 'transform') {
      if (msg === 'dbt run starting') {
        s.models = n('models');
        s.tests = n('tests');
        s.built = s.tested = s.testsFailed = 0;
      } else if (msg === 'dbt model built') s.built = (s.built ?? 0) + 1;
      else if (msg === 'dbt test passed') s.tested = (s.tested ?? 0) + 1;
      else if (msg === 'dbt run finished') {
        s.done = `${count(n('models'))} models built, ${count(n('tests'))} tests passed in ${seconds(elapsed)}`;
        return this.end();
      } else return;
      const done = (s.built ?? 0) + (s.tested ?? 0);
      s.text = `${s.built ?? 0}/${s.models ?? '?'} models, ${s.tested ?? 0}/${s.tests ?? '?'} tests${eta(elapsed, done, (s.models ?? 0) + (s.tests ?? 0))}`;
    } else if (s.name === 'enrich') {
      if (msg === 'enrich skipped: no Spotify credentials') s.done = 'skipped (no Spotify credentials; optional)';
      else if (msg === 'enrichment finished') s.done = `done in ${seconds(elapsed)}`;
      else return;
    } else if (s.name === 'publish' && msg === 'published serving snapshot') {
      s.done = `snapshot ${String(rec.version)} (${count(n('tracks'))} tracks) in ${seconds(elapsed)}`;
    } else return;
    this.show(s);
  }

  /** On a TTY, rewrite the step's line in place. */
  private show(s: Step): void {
    if (this.out.isTTY) this.out.write(`\r\x1b[2K${STEP_LABEL[s.name] ?? s.name}: ${s.done ?? s.text}`);
  }
}
