/**
 * Snowflake adapter of the warehouse port, on snowflake-sdk (the official Node.js driver).
 *
 * - Auth: password, or key pair (`SNOWFLAKE_JWT`: a PEM private key as text or file, optional
 *   passphrase). Secrets go to the driver only; no message or log line carries them.
 * - Every statement carries `QUERY_TAG` (`music-mcp:<step>`, see `setQueryTag`), so the pipeline's
 *   work is findable in QUERY_HISTORY.
 * - Retries are the driver's own: login attempts on network errors / 5xx / 429 (`loginRetries`,
 *   the driver's `sfRetryMaxLoginRetries`, bounded by its `retryTimeout`), and its HTTP retry
 *   middleware with jittered backoff for query requests.
 * - Identifiers: the session sets `QUOTED_IDENTIFIERS_IGNORE_CASE = TRUE`, so the relations the dbt
 *   runner renders as `"marts"."dim_tracks"` resolve to MARTS.DIM_TRACKS, the same objects real dbt
 *   (quoting off) builds. Result column names come back lower-cased, as the project writes them.
 * - One statement per `run`/`all` call (Snowflake's default MULTI_STATEMENT_COUNT = 1).
 */
import type { Bind, Connection, ConnectionOptions, RowStatement } from 'snowflake-sdk';
import type { SnowflakeConfig } from '../config.js';
import { WarehouseError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import type { Row, SqlSession } from './port.js';
import type { RawColumnType, RawTableSpec, RawValue, RawWriter, StagingReader } from './raw-load.js';

export type { Bind };

/** The driver sends array binds inline up to this many values per statement; above it, it uploads them through a stage (PUT). */
export const ARRAY_BIND_MAX_VALUES = 100_000;

export interface SnowflakeSessionOptions {
  log?: Logger;
  /** QUERY_TAG of every statement until `setQueryTag` changes it. Default `music-mcp`. */
  queryTag?: string;
  /** Login attempts after the first on a network error, HTTP 5xx or 429 (driver: sfRetryMaxLoginRetries). Default 7. */
  loginRetries?: number;
  /** How long the driver waits for one HTTP response, in ms (driver: timeout). Default 90 000. */
  requestTimeoutMs?: number;
}

/** A Snowflake statement or login failed; carries Snowflake's own error code, SQLSTATE and query id. */
export class SnowflakeWarehouseError extends WarehouseError {
  constructor(
    message: string,
    readonly snowflakeCode: string | undefined,
    readonly sqlState: string | undefined,
    readonly queryId: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The shape of the driver's errors we read (SnowflakeError plus the network cause). */
interface DriverError extends Error {
  code?: number | string;
  sqlState?: string;
  data?: { queryId?: string } & Record<string, unknown>;
  response?: { statusCode?: number };
  cause?: Error & { code?: string };
}

type Sdk = typeof import('snowflake-sdk');
let sdk: Promise<Sdk> | undefined;
/** Where the driver's own log lines go (the most recently opened session's logger). */
let driverLog: Logger = silentLogger;

/**
 * Load the driver on first use (the embedded default never pays for it) and route its logging to
 * pino: by default it writes to stdout and ./snowflake.log, which stdio mode must never do.
 */
async function loadSdk(log: Logger): Promise<Sdk> {
  driverLog = log.child({ component: 'snowflake-sdk' });
  // On import the driver probes cloud metadata endpoints (169.254.169.254, metadata.google.internal)
  // and AWS STS with the ambient credentials, for login telemetry only. A pipeline should not make
  // those calls; this is the driver's documented switch (set, never read: config.ts reads the env).
  process.env['SNOWFLAKE_DISABLE_PLATFORM_DETECTION'] = 'true';
  sdk ??= import('snowflake-sdk').then((mod) => {
    const snowflake = ((mod as { default?: Sdk }).default ?? mod) as Sdk;
    snowflake.configure({
      logLevel: log.isLevelEnabled('trace') ? 'DEBUG' : log.isLevelEnabled('debug') ? 'INFO' : 'WARN',
      customLogger: {
        error: (m) => driverLog.warn(m),
        warn: (m) => driverLog.warn(m),
        info: (m) => driverLog.debug(m),
        debug: (m) => driverLog.trace(m),
        trace: (m) => driverLog.trace(m),
      },
    });
    return snowflake;
  });
  return sdk;
}

/** Snowflake session: one authenticated driver connection. */
export class SnowflakeSession implements SqlSession {
  readonly dialect = 'snowflake' as const;
  private queryTag: string;
  private closed = false;

  private constructor(
    private readonly connection: Connection,
    private readonly config: SnowflakeConfig,
    private readonly log: Logger,
    queryTag: string,
  ) {
    this.queryTag = queryTag;
  }

  /** Connect, authenticate, check that the warehouse and database are usable, set the session parameters. */
  static async open(config: SnowflakeConfig, opts: SnowflakeSessionOptions = {}): Promise<SnowflakeSession> {
    const log = opts.log ?? silentLogger;
    const snowflake = await loadSdk(log);
    const options: ConnectionOptions = {
      account: config.account,
      username: config.user,
      warehouse: config.warehouse,
      database: config.database,
      schema: config.schema,
      application: 'music_mcp_server',
      sfRetryMaxLoginRetries: opts.loginRetries ?? 7,
      timeout: opts.requestTimeoutMs ?? 90_000,
    };
    if (config.role) options.role = config.role;
    if (config.accessUrl) options.accessUrl = config.accessUrl;
    if (config.password) {
      options.password = config.password;
    } else {
      options.authenticator = 'SNOWFLAKE_JWT';
      if (config.privateKey) options.privateKey = config.privateKey;
      else if (config.privateKeyPath) options.privateKeyPath = config.privateKeyPath;
      if (config.privateKeyPassphrase) options.privateKeyPass = config.privateKeyPassphrase;
    }
    const where = describeTarget(config);
    let connection: Connection;
    try {
      connection = snowflake.createConnection(options);
    } catch (cause) {
      throw mapError(cause as DriverError, config, `invalid Snowflake connection settings for ${where}`);
    }
    try {
      // connect(cb), not connectAsync(): the latter resolves even when the login fails.
      await new Promise<void>((resolve, reject) => {
        connection.connect((err) => (err ? reject(err) : resolve()));
      });
    } catch (cause) {
      throw mapError(cause as DriverError, config, `cannot log in to Snowflake (${where})`);
    }
    const session = new SnowflakeSession(connection, config, log, opts.queryTag ?? 'music-mcp');
    try {
      await session.checkContext();
      await session.run('ALTER SESSION SET QUOTED_IDENTIFIERS_IGNORE_CASE = TRUE');
    } catch (err) {
      await session.close().catch(() => undefined);
      throw err;
    }
    log.info({ account: config.account, user: config.user, warehouse: config.warehouse, database: config.database, auth: config.password ? 'password' : 'key-pair' }, 'snowflake session open');
    return session;
  }

  /** The QUERY_TAG sent with every following statement (e.g. `music-mcp:load`). */
  setQueryTag(tag: string): void {
    if (tag.length > 2000) throw new WarehouseError('a Snowflake QUERY_TAG holds at most 2000 characters');
    this.queryTag = tag;
  }

  get tag(): string {
    return this.queryTag;
  }

  /** For logs: account, database and user (no secret). */
  get target(): string {
    return `${this.config.account}/${this.config.database} as ${this.config.user}`;
  }

  async run(sql: string): Promise<void> {
    await this.execute(sql);
  }

  async all<T extends Row = Row>(sql: string): Promise<T[]> {
    return (await this.execute<T>(sql)).rows;
  }

  /** One statement with positional binds (`?` or `:1`), sent as typed bindings. */
  async execute<T extends Row = Row>(sql: string, binds?: readonly Bind[]): Promise<{ rows: T[]; queryId: string | undefined }> {
    return this.send<T>(sql, binds);
  }

  /**
   * Array binds: one INSERT … VALUES (?, …) executed for every row, in one request (the driver sends
   * each column as one typed binding holding all the rows' values). Keep rows × columns at or below
   * ARRAY_BIND_MAX_VALUES: above it the driver would upload the binds to a stage instead.
   */
  async insertRows(sql: string, rows: readonly (readonly Bind[])[]): Promise<number> {
    if (rows.length === 0) return 0;
    const values = rows.length * (rows[0]?.length ?? 0);
    if (values > ARRAY_BIND_MAX_VALUES) {
      throw new WarehouseError(`an array-bound INSERT may carry at most ${ARRAY_BIND_MAX_VALUES} values, got ${values}; send the rows in smaller batches`);
    }
    const { rows: result } = await this.send<Row>(sql, rows as Bind[][]);
    const first = result[0];
    const inserted = first ? Number(Object.values(first)[0]) : Number.NaN;
    return Number.isFinite(inserted) ? inserted : rows.length;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => {
      this.connection.destroy((err) => {
        if (err) this.log.warn({ err: { message: err.message } }, 'snowflake session close failed (the server expires it)');
        resolve();
      });
    });
  }

  private send<T extends Row>(sql: string, binds: readonly Bind[] | readonly Bind[][] | undefined): Promise<{ rows: T[]; queryId: string | undefined }> {
    if (this.closed) return Promise.reject(new WarehouseError('the Snowflake session is closed'));
    const started = Date.now();
    return new Promise((resolve, reject) => {
      try {
        this.connection.execute({
          sqlText: sql,
          ...(binds ? { binds: binds as Bind[] } : {}),
          parameters: { QUERY_TAG: this.queryTag },
          complete: (err, stmt, rows) => {
            const queryId = safeQueryId(stmt);
            if (err) {
              reject(mapError(err as DriverError, this.config, `Snowflake statement failed${queryId ? ` (query ${queryId})` : ''}: ${sqlHead(sql)}`));
              return;
            }
            this.log.debug({ queryId, ms: Date.now() - started, rows: rows?.length ?? 0, tag: this.queryTag }, 'snowflake statement');
            resolve({ rows: (rows ?? []).map((r) => toPlainRow(r)) as T[], queryId });
          },
        });
      } catch (cause) {
        reject(mapError(cause as DriverError, this.config, `Snowflake statement rejected by the driver: ${sqlHead(sql)}`));
      }
    });
  }

  /** Fail fast when the warehouse or database named in the settings is not usable by this user/role. */
  private async checkContext(): Promise<void> {
    const [ctx] = await this.all<{ warehouse: string | null; database: string | null; role: string | null }>(
      'SELECT CURRENT_WAREHOUSE() AS warehouse, CURRENT_DATABASE() AS database, CURRENT_ROLE() AS role',
    );
    const role = ctx?.role ?? this.config.role ?? 'the default role';
    const missing: string[] = [];
    if (!ctx?.warehouse) {
      missing.push(`SNOWFLAKE_WAREHOUSE '${this.config.warehouse}' does not exist or role ${role} may not use it (GRANT USAGE ON WAREHOUSE … TO ROLE ${role})`);
    }
    if (!ctx?.database) {
      missing.push(`SNOWFLAKE_DATABASE '${this.config.database}' does not exist or role ${role} may not use it (GRANT USAGE ON DATABASE … TO ROLE ${role})`);
    }
    if (missing.length) {
      throw new SnowflakeWarehouseError(`Snowflake login worked but the session is unusable: ${missing.join('; ')}`, undefined, undefined, undefined);
    }
  }
}

const SNOWFLAKE_TYPES: Record<RawColumnType, string> = {
  VARCHAR: 'VARCHAR',
  INTEGER: 'INTEGER',
  DOUBLE: 'DOUBLE',
  BOOLEAN: 'BOOLEAN',
  TIMESTAMP: 'TIMESTAMP_NTZ',
};

/** `2024-05-01 12:34:56.789`: a TIMESTAMP_NTZ literal in UTC, the form every Snowflake TIMESTAMP_INPUT_FORMAT accepts. */
const ntz = (d: Date): string => d.toISOString().replace('T', ' ').replace('Z', '');

/**
 * The load into Snowflake's raw schema (RAW.TRACKS, RAW.TRACK_REJECTS) with array-bound INSERTs:
 *
 * 1. `CREATE TRANSIENT TABLE IF NOT EXISTS RAW.<t>` (first run), then a fresh `RAW.<t>__LOADING`;
 * 2. the reader's rows go into `__LOADING` as `INSERT … VALUES (?, …)` with array binds, at most
 *    ARRAY_BIND_MAX_VALUES values per request (so the driver never switches to a stage upload);
 * 3. the row count of every `__LOADING` table is checked against the rows sent;
 * 4. only then each `ALTER TABLE RAW.<t>__LOADING SWAP WITH RAW.<t>` (atomic per table), and the
 *    old data (now in `__LOADING`) is dropped.
 *
 * A failure before step 4 leaves RAW as it was; a rerun rebuilds everything (idempotent: RAW is a
 * full copy of staging, not an append). RAW tables are TRANSIENT: they can be rebuilt from staging,
 * so Fail-safe storage would be paid for nothing.
 */
export class SnowflakeRawWriter implements RawWriter {
  readonly label: string;
  constructor(
    private readonly session: SnowflakeSession,
    private readonly schema = 'raw',
  ) {
    this.label = `Snowflake ${session.target}`;
  }

  async replaceRaw(tables: readonly RawTableSpec[], reader: StagingReader): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    const loading = (t: RawTableSpec) => `${this.schema}.${t.name}__loading`;
    try {
      await this.session.run(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
      for (const table of tables) {
        const columns = table.columns.map((c) => `${c.name} ${SNOWFLAKE_TYPES[c.type]}`).join(', ');
        await this.session.run(`CREATE TRANSIENT TABLE IF NOT EXISTS ${this.schema}.${table.name} (${columns})`);
        await this.session.run(`CREATE OR REPLACE TRANSIENT TABLE ${loading(table)} (${columns})`);
        counts[table.name] = await this.fill(table, loading(table), reader);
        const [check] = await this.session.all<{ n: number }>(`SELECT count(*) AS n FROM ${loading(table)}`);
        if (Number(check?.n) !== counts[table.name]) {
          throw new WarehouseError(`loading ${loading(table)}: sent ${counts[table.name]} rows but the table holds ${check?.n}; nothing was swapped in, run the load again`);
        }
      }
      for (const table of tables) {
        await this.session.run(`ALTER TABLE ${loading(table)} SWAP WITH ${this.schema}.${table.name}`);
        await this.session.run(`DROP TABLE IF EXISTS ${loading(table)}`);
      }
      return counts;
    } catch (err) {
      for (const table of tables) await this.session.run(`DROP TABLE IF EXISTS ${loading(table)}`).catch(() => undefined);
      throw err;
    }
  }

  private async fill(table: RawTableSpec, target: string, reader: StagingReader): Promise<number> {
    const types = table.columns.map((c) => c.type);
    const sql = `INSERT INTO ${target} (${table.columns.map((c) => c.name).join(', ')}) VALUES (${types.map(() => '?').join(', ')})`;
    const batchRows = Math.max(1, Math.floor(ARRAY_BIND_MAX_VALUES / types.length));
    let pending: Bind[][] = [];
    let sent = 0;
    const flush = async () => {
      if (pending.length === 0) return;
      const rows = pending;
      pending = [];
      typeFirstRow(rows, types);
      const inserted = await this.session.insertRows(sql, rows);
      if (inserted !== rows.length) throw new WarehouseError(`INSERT into ${target} reported ${inserted} rows for ${rows.length} sent`);
      sent += rows.length;
    };
    for await (const batch of reader.readRows(table)) {
      for (const row of batch) {
        pending.push(row.map((v) => toBind(v)));
        if (pending.length >= batchRows) await flush();
      }
    }
    await flush();
    return sent;
  }
}

const toBind = (v: RawValue | undefined): Bind => (v === undefined || v === null ? null : v instanceof Date ? ntz(v) : v);

/**
 * The driver types each array-bound column from the batch's first row (FIXED, REAL, BOOLEAN, TEXT).
 * A DOUBLE column whose first value happens to be whole would bind as FIXED and carry later values
 * such as 1.2e-7 as FIXED text; send that one value as text so the column binds as TEXT, which
 * Snowflake converts into the DOUBLE column exactly.
 */
function typeFirstRow(rows: Bind[][], types: readonly RawColumnType[]): void {
  const first = rows[0];
  if (!first) return;
  types.forEach((t, i) => {
    const v = first[i];
    if (t === 'DOUBLE' && typeof v === 'number' && Number.isInteger(v)) first[i] = String(v);
  });
}

function describeTarget(c: SnowflakeConfig): string {
  return `account ${c.account}, user ${c.user}${c.accessUrl ? `, via ${c.accessUrl}` : ''}`;
}

function sqlHead(sql: string): string {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return flat.length > 160 ? `${flat.slice(0, 157)}…` : flat;
}

function safeQueryId(stmt: RowStatement | undefined): string | undefined {
  try {
    return stmt?.getQueryId() ?? undefined;
  } catch {
    return undefined;
  }
}

/** Row keys lower-cased (Snowflake upper-cases unquoted names); dates as ISO strings, as the DuckDB adapter does. */
function toPlainRow(row: Record<string, unknown>): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(row)) out[k.toLowerCase()] = toPlain(v);
  return out;
}

function toPlain(v: unknown): unknown {
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'bigint') return Number(v);
  return v;
}

/** Remove any secret of the config from a driver message (belt and braces: the driver masks its own). */
function scrub(text: string, c: SnowflakeConfig): string {
  let out = text;
  for (const secret of [c.password, c.privateKey, c.privateKeyPassphrase]) {
    if (secret && secret.length >= 4) out = out.split(secret).join('[redacted]');
  }
  return out.replace(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, '[redacted private key]');
}

/** Driver error codes (snowflake-sdk ErrorCode) for network trouble. */
const NETWORK_CODES = new Set([401001]);
const HTTP_FAILURE_CODES = new Set([401002]);

/**
 * A driver error as a WarehouseError whose message names the fix. The original error is not kept as
 * `cause` (driver errors may carry request data); a scrubbed copy with code and SQLSTATE is.
 */
function mapError(err: DriverError, c: SnowflakeConfig, context: string): SnowflakeWarehouseError {
  const code = err?.code === undefined || err?.code === null ? undefined : String(err.code);
  const sqlState = err?.sqlState;
  const queryId = typeof err?.data?.queryId === 'string' ? err.data.queryId : undefined;
  const raw = scrub(String(err?.message ?? err), c).replace(/\s+/g, ' ').trim();
  const role = c.role ? `role ${c.role}` : "the user's default role";
  let hint: string;
  switch (code) {
    case '390100':
      hint = `incorrect user name or password: check SNOWFLAKE_USER ('${c.user}') and SNOWFLAKE_PASSWORD`;
      break;
    case '390144':
      hint = `the key-pair token was rejected: check that the public key of this private key is set on user ${c.user} (ALTER USER ${c.user} SET RSA_PUBLIC_KEY = '…') and that SNOWFLAKE_ACCOUNT ('${c.account}') is the account identifier`;
      break;
    case '390189':
      hint = `SNOWFLAKE_ROLE '${c.role ?? ''}' does not exist or is not granted to user ${c.user}`;
      break;
    case '390101':
    case '390102':
    case '390103':
      hint = `user ${c.user} is disabled or locked: ask an account administrator`;
      break;
    case '000606':
      hint = `no usable warehouse: SNOWFLAKE_WAREHOUSE '${c.warehouse}' does not exist, is suspended without auto-resume, or ${role} may not use it`;
      break;
    case '002003':
      hint = `an object is missing or not granted to ${role} (SNOWFLAKE_DATABASE is '${c.database}'); run the load step first, or grant access`;
      break;
    case '090105':
    case '090106':
      hint = `no current database/schema: check SNOWFLAKE_DATABASE ('${c.database}') and SNOWFLAKE_SCHEMA ('${c.schema}')`;
      break;
    case '000008':
      hint = 'send one statement per call on Snowflake';
      break;
    default:
      if (code !== undefined && NETWORK_CODES.has(Number(code))) {
        const why = err.cause?.code ?? err.cause?.message ?? 'network error';
        hint = `cannot reach Snowflake at ${c.accessUrl ?? `the host of account '${c.account}'`} (${why}) after the driver's retries: check SNOWFLAKE_ACCOUNT${c.accessUrl ? ' / SNOWFLAKE_ACCESS_URL' : ''}, DNS, proxy and firewall`;
      } else if (code !== undefined && HTTP_FAILURE_CODES.has(Number(code))) {
        const status = err.response?.statusCode;
        hint = `Snowflake answered HTTP ${status ?? 'error'}${status === 429 || (status ?? 0) >= 500 ? ' even after the driver\'s retries; try again later' : ''}${status === 403 || status === 404 ? `: check SNOWFLAKE_ACCOUNT ('${c.account}')${c.accessUrl ? ' and SNOWFLAKE_ACCESS_URL' : ''}` : ''}`;
      } else if (code?.startsWith('390')) {
        hint = `Snowflake refused the login: check SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER and the password or key`;
      } else {
        hint = '';
      }
  }
  const detail = `${code ? `${code}${sqlState ? `/${sqlState}` : ''} ` : ''}${raw}`;
  const message = `${context}: ${hint ? `${hint} (${detail})` : detail}`;
  const cause = Object.assign(new Error(raw), { code, sqlState });
  return new SnowflakeWarehouseError(message, code, sqlState, queryId, { cause });
}
