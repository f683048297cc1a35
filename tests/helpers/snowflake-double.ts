/**
 * A loopback double of Snowflake's REST protocol, for snowflake-sdk pointed at it through its own
 * `accessUrl` (http://127.0.0.1:<port>). It speaks the wire format the driver speaks to the real
 * service:
 *
 * - `POST /session/v1/login-request`: checks ACCOUNT_NAME, LOGIN_NAME and PASSWORD, or the key-pair
 *   JWT in TOKEN with AUTHENTICATOR=SNOWFLAKE_JWT (RS256 signature verified against the test's
 *   public key; iss = ACCOUNT.USER.SHA256:<public key fingerprint>, sub = ACCOUNT.USER). Answers
 *   session + master tokens, or `success: false` with Snowflake's codes (390100, 390144, 390189).
 * - `POST /queries/v1/query-request`: reads sqlText, bindings (typed, array binds included) and the
 *   QUERY_TAG parameter; answers `rowtype` + `rowset` in the JSON result format (values as strings,
 *   VARIANT/ARRAY/OBJECT as JSON text, TIMESTAMP_NTZ as epoch seconds), or an error with Snowflake's
 *   `code` / `message` / `data.sqlState` shape.
 * - `POST /session/token-request` (session renewal), `POST /session?delete=true`,
 *   `POST /telemetry/send`. Any other path is recorded in `unknownPaths` and answered 404.
 *
 * Statements run on an in-memory DuckDB after light translation that keeps Snowflake's meaning for
 * the subset the pipeline's load and publish steps use: TRANSIENT dropped, TIMESTAMP_NTZ →
 * TIMESTAMP, `ALTER TABLE a SWAP WITH b` as three renames in one transaction, CURRENT_WAREHOUSE() /
 * CURRENT_DATABASE() / CURRENT_ROLE() / CURRENT_SCHEMA() from the session, ALTER SESSION / USE
 * answered by the double. Result column names are upper-cased (Snowflake folds unquoted names, and
 * quoted ones under QUOTED_IDENTIFIERS_IGNORE_CASE). Snowflake-only SQL (FLATTEN, ARRAY_AGG … WITHIN
 * GROUP, …) is not emulated: a test answers such statements itself with `onQuery`.
 */
import { createHash, createPublicKey, randomUUID, verify, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import type { DuckDBType } from '@duckdb/node-api';
import { DuckDbSession } from '../../src/warehouse/duckdb.js';

export interface DoubleBinding {
  type: string;
  value: string | null | (string | null)[];
}

/** One query-request as the double received it. */
export interface DoubleQuery {
  sqlText: string;
  bindings: Record<string, DoubleBinding> | undefined;
  parameters: Record<string, unknown> | undefined;
  /** The statement's QUERY_TAG parameter, else the session's. */
  queryTag: string | undefined;
  sessionId: number;
  requestId: string | null;
}

export interface DoubleLogin {
  account: string;
  user: string;
  authenticator: string | undefined;
  password: string | undefined;
  token: string | undefined;
  clientAppId: string | undefined;
  sessionParameters: Record<string, unknown> | undefined;
  query: Record<string, string>;
  ok: boolean;
}

export interface DoubleColumn {
  name: string;
  /** Snowflake result type: fixed, real, text, boolean, timestamp_ntz, date, array, object, variant. */
  type: string;
  scale?: number;
}

export type QueryAnswer =
  | { columns: DoubleColumn[]; rows: unknown[][]; statementTypeId?: number }
  | { error: { code: string; message: string; sqlState: string } };

export interface SnowflakeDoubleOptions {
  account: string;
  user: string;
  /** Accepted password (password auth). */
  password?: string;
  /** PEM public key whose private key signs the JWT (key-pair auth). */
  publicKeyPem?: string;
  warehouses?: string[];
  databases?: string[];
  roles?: string[];
  /** Execute statements on an in-memory DuckDB (default true); false: every statement answers "executed". */
  execute?: boolean;
}

interface SessionState {
  id: number;
  token: string;
  masterToken: string;
  warehouse: string | null;
  database: string | null;
  schema: string | null;
  role: string | null;
  parameters: Record<string, unknown>;
}

const TYPE_SELECT = 0x1000;
const TYPE_SESSION = 0x4000;
const TYPE_INSERT = 0x3100;
const TYPE_UPDATE = 0x3200;
const TYPE_DELETE = 0x3300;
const TYPE_MERGE = 0x3400;
const TYPE_DDL = 0x6000;

const upper = (s: string) => s.toUpperCase();
const unquote = (s: string) => (s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s);

export class SnowflakeDouble {
  readonly logins: DoubleLogin[] = [];
  readonly queries: DoubleQuery[] = [];
  readonly unknownPaths: string[] = [];
  /** Every request, in order: `METHOD /path` plus the retry counter the driver appends. */
  readonly requests: { method: string; path: string; retryCount: string | null }[] = [];
  readonly deletedSessions: number[] = [];
  readonly renewals: number[] = [];
  backend: DuckDbSession | undefined;

  private server: Server | undefined;
  private readonly sessions = new Map<string, SessionState>();
  private readonly masterTokens = new Map<string, SessionState>();
  private readonly faults: { path: string; status: number; remaining: number }[] = [];
  private expireNextQueries = 0;
  private handler: ((q: DoubleQuery) => QueryAnswer | undefined | Promise<QueryAnswer | undefined>) | undefined;
  private nextSession = 1001;
  private readonly publicKey: KeyObject | undefined;

  private constructor(private readonly opts: SnowflakeDoubleOptions) {
    this.publicKey = opts.publicKeyPem ? createPublicKey(opts.publicKeyPem) : undefined;
  }

  static async start(opts: SnowflakeDoubleOptions): Promise<SnowflakeDouble> {
    const d = new SnowflakeDouble(opts);
    if (opts.execute !== false) d.backend = await DuckDbSession.open(':memory:');
    d.server = createServer((req, res) => {
      d.handle(req, res).catch((err) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ success: false, message: String(err), code: null, data: null }));
      });
    });
    await new Promise<void>((resolve) => d.server!.listen(0, '127.0.0.1', resolve));
    return d;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  /** Answer the next `times` requests to `path` with HTTP `status` (e.g. 503, 429). */
  failNext(path: string, status: number, times = 1): void {
    this.faults.push({ path, status, remaining: times });
  }

  /** The next query-request is refused with 390112 (session token expired): the driver must renew and resend. */
  expireSessionTokenOnce(): void {
    this.expireNextQueries += 1;
  }

  /** Answer statements before the backend sees them; return undefined to let the backend run it. */
  onQuery(handler: ((q: DoubleQuery) => QueryAnswer | undefined | Promise<QueryAnswer | undefined>) | undefined): void {
    this.handler = handler;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections(); // the driver keeps connections alive
      await closed;
    }
    await this.backend?.close();
  }

  // ---------------------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const raw = await readBody(req);
    this.requests.push({ method: req.method ?? '', path: url.pathname, retryCount: url.searchParams.get('retryCount') });
    const fault = this.faults.find((f) => f.path === url.pathname && f.remaining > 0);
    if (fault) {
      fault.remaining -= 1;
      return send(res, fault.status, { message: `injected HTTP ${fault.status}` });
    }
    const body = raw ? (JSON.parse(raw) as Record<string, any>) : {};
    if (req.method === 'POST' && url.pathname === '/session/v1/login-request') return this.login(url, body, res);
    if (req.method === 'POST' && url.pathname === '/queries/v1/query-request') return this.query(req, url, body, res);
    if (req.method === 'POST' && url.pathname === '/session/token-request') return this.renew(req, body, res);
    if (req.method === 'POST' && url.pathname === '/session' && url.searchParams.get('delete') === 'true') {
      const s = this.sessionOf(req);
      if (s) {
        this.deletedSessions.push(s.id);
        this.sessions.delete(s.token);
      }
      return send(res, 200, { data: null, code: null, message: null, success: true });
    }
    if (req.method === 'POST' && url.pathname === '/telemetry/send') {
      return send(res, 200, { data: 'Log Received', code: null, message: null, success: true });
    }
    this.unknownPaths.push(`${req.method} ${url.pathname}`);
    process.stderr.write(`snowflake double: no handler for ${req.method} ${url.pathname} (answered 404)\n`);
    return send(res, 404, { data: null, code: '404', message: `the Snowflake double does not implement ${req.method} ${url.pathname}`, success: false });
  }

  private login(url: URL, body: Record<string, any>, res: ServerResponse): void {
    const data = (body.data ?? {}) as Record<string, any>;
    const query = Object.fromEntries(url.searchParams.entries());
    const record: DoubleLogin = {
      account: String(data.ACCOUNT_NAME ?? ''),
      user: String(data.LOGIN_NAME ?? ''),
      authenticator: data.AUTHENTICATOR,
      password: data.PASSWORD ?? undefined,
      token: data.TOKEN ?? undefined,
      clientAppId: data.CLIENT_APP_ID,
      sessionParameters: data.SESSION_PARAMETERS,
      query,
      ok: false,
    };
    this.logins.push(record);
    const fail = (code: string, message: string) =>
      send(res, 200, { data: { nextAction: 'RETRY_LOGIN', authnMethod: record.authenticator ?? 'USERNAME_PASSWORD', signInOptions: {} }, code, message, success: false, headers: null });

    const sameAccount = upper(record.account) === upper(this.opts.account.split('.')[0] ?? '');
    if (upper(record.authenticator ?? '') === 'SNOWFLAKE_JWT') {
      if (!sameAccount || upper(record.user) !== upper(this.opts.user) || !this.jwtValid(record.token, record.account, record.user)) {
        return fail('390144', 'JWT token is invalid.');
      }
    } else if (!sameAccount || upper(record.user) !== upper(this.opts.user) || this.opts.password === undefined || record.password !== this.opts.password) {
      return fail('390100', 'Incorrect username or password was specified.');
    }
    const known = (list: string[] | undefined, name: string | undefined) =>
      name === undefined ? null : (list ?? []).map(upper).includes(upper(unquote(name))) ? upper(unquote(name)) : null;
    if (query.roleName !== undefined && known(this.opts.roles ?? ['PUBLIC'], query.roleName) === null) {
      return fail('390189', `Role '${upper(query.roleName)}' specified in the connect string does not exist or not authorized. Contact your local system administrator, or attempt to login with another role, e.g. PUBLIC.`);
    }
    record.ok = true;
    const session: SessionState = {
      id: this.nextSession++,
      token: `ver:1-hint:${randomUUID()}`,
      masterToken: `ver:1-hint:master-${randomUUID()}`,
      warehouse: known(this.opts.warehouses, query.warehouse),
      database: known(this.opts.databases, query.databaseName),
      schema: query.schemaName !== undefined ? upper(unquote(query.schemaName)) : null,
      role: query.roleName !== undefined ? upper(unquote(query.roleName)) : 'PUBLIC',
      parameters: { ...(record.sessionParameters ?? {}) },
    };
    if (!session.database) session.schema = null;
    this.sessions.set(session.token, session);
    this.masterTokens.set(session.masterToken, session);
    send(res, 200, {
      data: {
        masterToken: session.masterToken,
        token: session.token,
        validityInSeconds: 3600,
        masterValidityInSeconds: 14400,
        displayUserName: upper(record.user),
        serverVersion: '9.0.0',
        firstLogin: false,
        remMeToken: null,
        remMeValidityInSeconds: 0,
        healthCheckInterval: 45,
        newClientForUpgrade: null,
        sessionId: session.id,
        parameters: sessionParameterList(),
        sessionInfo: { databaseName: session.database, schemaName: session.schema, warehouseName: session.warehouse, roleName: session.role },
        idToken: null,
        idTokenValidityInSeconds: 0,
        responseData: null,
        mfaToken: null,
        mfaTokenValidityInSeconds: 0,
      },
      code: null,
      message: null,
      success: true,
    });
  }

  private jwtValid(token: string | undefined, account: string, user: string): boolean {
    if (!token || !this.publicKey) return false;
    const [h, p, s] = token.split('.');
    if (!h || !p || !s) return false;
    const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as { alg?: string };
    if (header.alg !== 'RS256') return false;
    if (!verify('RSA-SHA256', Buffer.from(`${h}.${p}`), this.publicKey, Buffer.from(s, 'base64url'))) return false;
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as { iss?: string; sub?: string; exp?: number };
    const der = this.publicKey.export({ type: 'spki', format: 'der' });
    const fingerprint = `SHA256:${createHash('sha256').update(der).digest('base64')}`;
    const subject = `${upper(account)}.${upper(user)}`;
    // The driver stamps iat/exp in milliseconds; accept either unit.
    const exp = (payload.exp ?? 0) > 1e12 ? (payload.exp ?? 0) : (payload.exp ?? 0) * 1000;
    return payload.sub === subject && payload.iss === `${subject}.${fingerprint}` && exp > Date.now();
  }

  private sessionOf(req: IncomingMessage): SessionState | undefined {
    const m = /Snowflake Token="([^"]+)"/.exec(String(req.headers.authorization ?? ''));
    return m?.[1] ? this.sessions.get(m[1]) : undefined;
  }

  private renew(req: IncomingMessage, body: Record<string, any>, res: ServerResponse): void {
    const m = /Snowflake Token="([^"]+)"/.exec(String(req.headers.authorization ?? ''));
    const session = m?.[1] ? this.masterTokens.get(m[1]) : undefined;
    if (!session || body.requestType !== 'RENEW') {
      return send(res, 200, { data: null, code: '390114', message: 'Authentication token has expired.  The user must authenticate again.', success: false });
    }
    this.sessions.delete(session.token);
    session.token = `ver:1-hint:${randomUUID()}`;
    this.sessions.set(session.token, session);
    this.renewals.push(session.id);
    send(res, 200, {
      data: { sessionToken: session.token, validityInSecondsST: 3600, masterToken: session.masterToken, validityInSecondsMT: 14400, sessionId: session.id },
      code: null,
      message: null,
      success: true,
    });
  }

  private async query(req: IncomingMessage, url: URL, body: Record<string, any>, res: ServerResponse): Promise<void> {
    const session = this.sessionOf(req);
    if (!session) {
      return send(res, 401, { data: null, code: '390104', message: 'User must login again to access the service.', success: false });
    }
    if (this.expireNextQueries > 0) {
      this.expireNextQueries -= 1;
      return send(res, 200, { data: { queryId: null }, code: '390112', message: 'Your session has expired. Please login again.', success: false });
    }
    const parameters = body.parameters as Record<string, unknown> | undefined;
    const q: DoubleQuery = {
      sqlText: String(body.sqlText ?? ''),
      bindings: body.bindings,
      parameters,
      queryTag: (parameters?.QUERY_TAG as string | undefined) ?? (session.parameters.QUERY_TAG as string | undefined),
      sessionId: session.id,
      requestId: url.searchParams.get('requestId'),
    };
    this.queries.push(q);
    const queryId = `01b${randomUUID().replace(/-/g, '').slice(0, 17)}`;
    let answer = this.handler ? await this.handler(q) : undefined;
    answer ??= await this.execute(q, session);
    if ('error' in answer) {
      return send(res, 200, {
        data: { internalError: false, unredactedFromSecureObject: false, errorCode: answer.error.code, age: 0, sqlState: answer.error.sqlState, queryId, line: -1, pos: -1, type: 'COMPILATION' },
        code: answer.error.code,
        message: answer.error.message,
        success: false,
        headers: null,
      });
    }
    const rowtype = answer.columns.map((c) => rowtypeOf(c));
    const rowset = answer.rows.map((row) => row.map((v, i) => rawValue(v, answer.columns[i]!)));
    send(res, 200, {
      data: {
        parameters: sessionParameterList(),
        rowtype,
        rowset,
        total: rowset.length,
        returned: rowset.length,
        queryId,
        databaseProvider: null,
        finalDatabaseName: session.database,
        finalSchemaName: session.schema,
        finalWarehouseName: session.warehouse,
        finalRoleName: session.role,
        numberOfBinds: q.bindings ? Object.keys(q.bindings).length : 0,
        arrayBindSupported: false,
        statementTypeId: answer.statementTypeId ?? statementType(q.sqlText),
        version: 1,
        sendResultTime: Date.now(),
        queryResultFormat: 'json',
      },
      code: null,
      message: null,
      success: true,
    });
  }

  /** Run a statement on the DuckDB backend, translated as the header describes. */
  private async execute(q: DoubleQuery, session: SessionState): Promise<QueryAnswer> {
    const sql = q.sqlText.trim().replace(/;\s*$/, '');
    const ok = (message: string, type = TYPE_SESSION): QueryAnswer => ({ columns: [{ name: 'status', type: 'text' }], rows: [[message]], statementTypeId: type });
    const alter = /^alter\s+session\s+set\s+([\s\S]+)$/i.exec(sql);
    if (alter) {
      for (const part of alter[1]!.split(',')) {
        const m = /^\s*(\w+)\s*=\s*(.+?)\s*$/.exec(part);
        if (m) session.parameters[upper(m[1]!)] = unquoteValue(m[2]!);
      }
      return ok('Statement executed successfully.');
    }
    const use = /^use\s+(warehouse|database|schema|role)\s+(\S+)$/i.exec(sql);
    if (use) {
      const kind = use[1]!.toLowerCase() as 'warehouse' | 'database' | 'schema' | 'role';
      session[kind] = upper(unquote(use[2]!));
      return ok('Statement executed successfully.');
    }
    if (!this.backend) return ok('Statement executed successfully.', statementType(sql));

    const swap = /^alter\s+table\s+(?:if\s+exists\s+)?([\w."]+)\s+swap\s+with\s+([\w."]+)$/i.exec(sql);
    if (swap) return this.swap(swap[1]!, swap[2]!);

    const lit = (v: string | null) => (v === null ? 'NULL' : `'${v.replace(/'/g, "''")}'`);
    const translated = sql
      .replace(/\bcurrent_warehouse\s*\(\s*\)/gi, lit(session.warehouse))
      .replace(/\bcurrent_database\s*\(\s*\)/gi, lit(session.database))
      .replace(/\bcurrent_schema\s*\(\s*\)/gi, lit(session.schema))
      .replace(/\bcurrent_role\s*\(\s*\)/gi, lit(session.role))
      .replace(/\bcreate\s+(or\s+replace\s+)?transient\s+table\b/gi, (_m, r: string | undefined) => `create ${r ?? ''}table`)
      .replace(/\btimestamp_ntz\b/gi, 'timestamp');
    const type = statementType(sql);
    try {
      const conn = this.backend.connection;
      if (q.bindings && Object.keys(q.bindings).length > 0) {
        const keys = Object.keys(q.bindings).sort((a, b) => Number(a) - Number(b));
        const cols = keys.map((k) => q.bindings![k]!);
        const arrays = cols.some((b) => Array.isArray(b.value));
        const rowCount = arrays ? (cols[0]!.value as unknown[]).length : 1;
        const prepared = await conn.prepare(translated);
        let changed = 0;
        let last: Awaited<ReturnType<typeof prepared.runAndReadAll>> | undefined;
        if (arrays) await conn.run('BEGIN TRANSACTION');
        try {
          for (let r = 0; r < rowCount; r++) {
            prepared.bind(cols.map((b) => bindValue(b.type, arrays ? (b.value as (string | null)[])[r] ?? null : (b.value as string | null))));
            last = await prepared.runAndReadAll();
            changed += last.rowsChanged;
          }
          if (arrays) await conn.run('COMMIT');
        } catch (err) {
          if (arrays) await conn.run('ROLLBACK').catch(() => undefined);
          throw err;
        }
        if (type === TYPE_SELECT && last) return resultOf(last.columnNames(), last.columnTypes(), last.getRowsJS());
        return dmlAnswer(type, changed);
      }
      const reader = await conn.runAndReadAll(translated);
      if (type === TYPE_SELECT) return resultOf(reader.columnNames(), reader.columnTypes(), reader.getRowsJS());
      if (type >= 0x3000 && type < 0x4000) return dmlAnswer(type, reader.rowsChanged);
      return ok(statusMessage(sql), type);
    } catch (err) {
      return { error: snowflakeErrorOf((err as Error).message) };
    }
  }

  /** `ALTER TABLE a SWAP WITH b`: both must exist and live in one schema (all the pipeline needs). */
  private async swap(a: string, b: string): Promise<QueryAnswer> {
    const split = (n: string) => {
      const parts = n.split('.').map(unquote);
      return { schema: parts.length > 1 ? parts[parts.length - 2]! : 'main', table: parts[parts.length - 1]! };
    };
    const ta = split(a);
    const tb = split(b);
    const conn = this.backend!.connection;
    for (const t of [ta, tb]) {
      const r = await conn.runAndReadAll(`select count(*)::int as n from information_schema.tables where lower(table_schema) = lower('${t.schema}') and lower(table_name) = lower('${t.table}')`);
      if (Number(r.getRowsJS()[0]?.[0] ?? 0) === 0) {
        return { error: { code: '002003', sqlState: '42S02', message: `SQL compilation error:\nObject '${upper(`${t.schema}.${t.table}`)}' does not exist or not authorized.` } };
      }
    }
    if (upper(ta.schema) !== upper(tb.schema)) {
      return { error: { code: '000002', sqlState: '0A000', message: 'Unsupported feature: the Snowflake double swaps tables of one schema only.' } };
    }
    const tmp = `swap_${randomUUID().replace(/-/g, '').slice(0, 8)}`;
    await conn.run('BEGIN TRANSACTION');
    try {
      await conn.run(`ALTER TABLE "${ta.schema}"."${ta.table}" RENAME TO "${tmp}"`);
      await conn.run(`ALTER TABLE "${tb.schema}"."${tb.table}" RENAME TO "${ta.table}"`);
      await conn.run(`ALTER TABLE "${ta.schema}"."${tmp}" RENAME TO "${tb.table}"`);
      await conn.run('COMMIT');
    } catch (err) {
      await conn.run('ROLLBACK').catch(() => undefined);
      return { error: snowflakeErrorOf((err as Error).message) };
    }
    return { columns: [{ name: 'status', type: 'text' }], rows: [['Statement executed successfully.']], statementTypeId: TYPE_DDL };
  }
}

// ---------------------------------------------------------------------------------------------

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const buf = Buffer.concat(chunks);
  if (buf.length === 0) return '';
  return (String(req.headers['content-encoding'] ?? '').includes('gzip') ? gunzipSync(buf) : buf).toString('utf8');
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sessionParameterList(): { name: string; value: unknown }[] {
  return [
    { name: 'TIMEZONE', value: 'UTC' },
    { name: 'TIMESTAMP_OUTPUT_FORMAT', value: 'YYYY-MM-DD HH24:MI:SS.FF3 TZHTZM' },
    { name: 'TIMESTAMP_NTZ_OUTPUT_FORMAT', value: 'YYYY-MM-DD HH24:MI:SS.FF3' },
    { name: 'DATE_OUTPUT_FORMAT', value: 'YYYY-MM-DD' },
    { name: 'CLIENT_RESULT_CHUNK_SIZE', value: 160 },
    { name: 'QUERY_CONTEXT_CACHE_SIZE', value: 5 },
  ];
}

function unquoteValue(v: string): unknown {
  const t = v.trim();
  if (/^'.*'$/s.test(t)) return t.slice(1, -1).replace(/''/g, "'");
  if (/^(true|false)$/i.test(t)) return t.toLowerCase() === 'true';
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  return t;
}

function statementType(sql: string): number {
  const word = /^\s*(?:\(\s*)*(\w+)/.exec(sql)?.[1]?.toLowerCase() ?? '';
  if (['select', 'with', 'show', 'describe', 'desc', 'values'].includes(word)) return TYPE_SELECT;
  if (word === 'insert') return TYPE_INSERT;
  if (word === 'update') return TYPE_UPDATE;
  if (word === 'delete') return TYPE_DELETE;
  if (word === 'merge') return TYPE_MERGE;
  if (['create', 'drop', 'alter', 'truncate', 'comment', 'grant', 'revoke'].includes(word)) {
    return /^\s*alter\s+session/i.test(sql) ? TYPE_SESSION : TYPE_DDL;
  }
  return TYPE_SESSION;
}

function statusMessage(sql: string): string {
  const m = /^\s*create\s+(?:or\s+replace\s+)?(?:transient\s+)?(table|schema|view)\s+(?:if\s+not\s+exists\s+)?([\w."]+)/i.exec(sql);
  if (m) return `${m[1]![0]!.toUpperCase()}${m[1]!.slice(1).toLowerCase()} ${upper(unquote(m[2]!.split('.').pop()!))} successfully created.`;
  const d = /^\s*drop\s+(table|schema|view)\s+(?:if\s+exists\s+)?([\w."]+)/i.exec(sql);
  if (d) return `${upper(unquote(d[2]!.split('.').pop()!))} successfully dropped.`;
  return 'Statement executed successfully.';
}

function dmlAnswer(type: number, changed: number): QueryAnswer {
  const name = type === TYPE_INSERT ? 'number of rows inserted' : type === TYPE_UPDATE ? 'number of rows updated' : type === TYPE_DELETE ? 'number of rows deleted' : 'number of rows inserted';
  return { columns: [{ name, type: 'fixed' }], rows: [[changed]], statementTypeId: type };
}

/** A typed Snowflake binding as the DuckDB value Snowflake would convert it to. */
function bindValue(type: string, value: string | null): string | number | bigint | boolean | null {
  if (value === null) return null;
  switch (type.toUpperCase()) {
    case 'FIXED':
      return /^-?\d+$/.test(value) ? BigInt(value) : Number(value);
    case 'REAL':
      return Number(value);
    case 'BOOLEAN':
      return /^(true|1)$/i.test(value);
    default:
      return value;
  }
}

function snowflakeTypeOf(t: DuckDBType): DoubleColumn {
  const name = t.toString().toUpperCase();
  if (/^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT)$/.test(name)) return { name: '', type: 'fixed', scale: 0 };
  const dec = /^DECIMAL\((\d+),\s*(\d+)\)$/.exec(name);
  if (dec) return { name: '', type: 'fixed', scale: Number(dec[2]) };
  if (name === 'DOUBLE' || name === 'FLOAT') return { name: '', type: 'real' };
  if (name === 'BOOLEAN') return { name: '', type: 'boolean' };
  if (name.startsWith('TIMESTAMP')) return { name: '', type: 'timestamp_ntz', scale: 9 };
  if (name === 'DATE') return { name: '', type: 'date' };
  if (name.endsWith('[]') || name.startsWith('LIST')) return { name: '', type: 'array' };
  if (name.startsWith('STRUCT') || name.startsWith('MAP')) return { name: '', type: 'object' };
  if (name === 'JSON') return { name: '', type: 'variant' };
  return { name: '', type: 'text' };
}

function resultOf(names: string[], types: DuckDBType[], rows: unknown[][]): QueryAnswer {
  const columns = names.map((n, i) => ({ ...snowflakeTypeOf(types[i]!), name: upper(n) }));
  return { columns, rows, statementTypeId: TYPE_SELECT };
}

function rowtypeOf(c: DoubleColumn): Record<string, unknown> {
  const base = { name: c.name, database: '', schema: '', table: '', nullable: true, collation: null };
  switch (c.type) {
    case 'fixed':
      return { ...base, type: 'fixed', precision: 38, scale: c.scale ?? 0, length: null, byteLength: null };
    case 'real':
      return { ...base, type: 'real', precision: null, scale: null, length: null, byteLength: null };
    case 'timestamp_ntz':
      return { ...base, type: 'timestamp_ntz', precision: 0, scale: c.scale ?? 9, length: null, byteLength: null };
    case 'text':
      return { ...base, type: 'text', precision: null, scale: null, length: 16777216, byteLength: 16777216 };
    default:
      return { ...base, type: c.type, precision: null, scale: null, length: null, byteLength: c.type === 'boolean' || c.type === 'date' ? null : 16777216 };
  }
}

const jsonSafe = (v: unknown): unknown =>
  typeof v === 'bigint' ? Number(v) : v instanceof Date ? v.toISOString() : Array.isArray(v) ? v.map(jsonSafe) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonSafe(x)])) : v;

/** A value in Snowflake's JSON result encoding: strings; booleans 1/0; semi-structured as (pretty) JSON text. */
function rawValue(v: unknown, c: DoubleColumn): string | null {
  if (v === null || v === undefined) return null;
  switch (c.type) {
    case 'boolean':
      return v === true || v === 'true' || v === 1 ? '1' : '0';
    case 'timestamp_ntz': {
      const ms = v instanceof Date ? v.getTime() : new Date(String(v)).getTime();
      const secs = Math.floor(ms / 1000);
      return `${secs}.${String(ms - secs * 1000).padStart(3, '0')}000000`;
    }
    case 'date': {
      const ms = v instanceof Date ? v.getTime() : new Date(String(v)).getTime();
      return String(Math.floor(ms / 86_400_000));
    }
    case 'array':
    case 'object':
    case 'variant':
      return typeof v === 'string' && c.type === 'variant' ? v : JSON.stringify(jsonSafe(v), null, 2);
    case 'fixed':
      return typeof v === 'bigint' ? v.toString() : String(v);
    default:
      return typeof v === 'string' ? v : String(jsonSafe(v));
  }
}

/** DuckDB's error text as the Snowflake error the same mistake produces. */
function snowflakeErrorOf(message: string): { code: string; message: string; sqlState: string } {
  const name = (n: string) => upper(n.replace(/"/g, ''));
  const table = /Table with name (\S+) does not exist/i.exec(message);
  if (table) return { code: '002003', sqlState: '42S02', message: `SQL compilation error:\nObject '${name(table[1]!)}' does not exist or not authorized.` };
  const schema = /Schema with name (\S+) does not exist/i.exec(message);
  if (schema) return { code: '002003', sqlState: '02000', message: `SQL compilation error:\nSchema '${name(schema[1]!)}' does not exist or not authorized.` };
  const column = /Referenced column "?([^"\s]+)"? not found/i.exec(message);
  if (column) return { code: '000904', sqlState: '42000', message: `SQL compilation error: error line 1 at position 0\ninvalid identifier '${upper(column[1]!)}'` };
  if (/^Parser Error/i.test(message)) return { code: '001003', sqlState: '42000', message: `SQL compilation error:\nsyntax error line 1 at position 0 unexpected '${message.replace(/^Parser Error:\s*/i, '').slice(0, 60)}'.` };
  if (/^Conversion Error/i.test(message)) return { code: '100038', sqlState: '22018', message: `Numeric value is not recognized (${message})` };
  if (/NOT NULL constraint failed/i.test(message)) return { code: '100072', sqlState: '22000', message: 'NULL result in a non-nullable column' };
  return { code: '000603', sqlState: 'XX000', message: `SQL execution internal error: the Snowflake double's DuckDB said: ${message}` };
}
