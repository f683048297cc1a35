import pino, { type Logger } from 'pino';
import { ProgressView, type TextOut } from './progress.js';

export type { Logger };

/** Paths whose values are never written to logs. */
export const REDACT_PATHS = [
  'token', 'accessToken', 'access_token', 'clientSecret', 'client_secret', 'password', 'secret',
  'authorization', 'Authorization', '*.token', '*.accessToken', '*.access_token', '*.clientSecret',
  '*.client_secret', '*.password', '*.secret', '*.authorization', '*.Authorization',
  'headers.authorization', 'req.headers.authorization', 'config.spotifyClientSecret',
  'config.snowflakePassword', 'config.mcpAuthToken',
  // PostgreSQL staging URLs carry the password; log redactUrl(...) instead.
  'stagingUrl', '*.stagingUrl', 'connectionString', '*.connectionString',
  // Snowflake: password, key-pair private key (PEM text) and its passphrase.
  'privateKey', '*.privateKey', 'privateKeyPass', '*.privateKeyPass', 'privateKeyPassphrase', '*.privateKeyPassphrase',
  'passphrase', '*.passphrase', 'config.snowflake.password', 'config.snowflake.privateKey',
  'config.snowflake.privateKeyPassphrase',
];

/**
 * pino to stderr (fd 2) only: in stdio mode stdout carries the MCP protocol and nothing else.
 */
export function createLogger(level = 'info', destination: pino.DestinationStream = pino.destination(2)): Logger {
  return pino(
    {
      level,
      base: { name: 'music-mcp' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

export const LOG_FORMATS = ['auto', 'json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * The logger of a command (server or pipeline script): JSON records on stderr for programs, or, on a
 * terminal (`LOG_FORMAT=auto`) or when asked (`text`), the progress view a person reads. `view` is
 * null for JSON; lines meant for people only (the ready line) go through it.
 */
export function createConsoleLogger(level: string, format: LogFormat, stderr: TextOut = process.stderr): { log: Logger; view: ProgressView | null } {
  if (format === 'json' || (format === 'auto' && stderr.isTTY !== true)) return { log: createLogger(level), view: null };
  const view = new ProgressView(stderr);
  return { log: createLogger(level, { write: (line: string) => view.write(line) }), view };
}

/** A logger that drops everything (for library callers and tests that do not care). */
export const silentLogger: Logger = pino({ level: 'silent' });
