/**
 * One base error with a stable machine-readable `code`; one subclass per concern.
 * Messages are written for the person (or model) who has to fix the problem.
 */
export class MusicError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Bad configuration: lists every offending key. */
export class ConfigError extends MusicError {
  constructor(message: string, readonly issues: string[] = []) {
    super('CONFIG_INVALID', message);
  }
}

/** The dataset could not be obtained or is not a dataset we understand. */
export class DatasetError extends MusicError {
  /** A network failure (offline, refused, timed out): a later attempt can succeed as it is. */
  readonly temporary: boolean;
  constructor(message: string, options?: { cause?: unknown; temporary?: boolean }) {
    super('DATASET_UNAVAILABLE', message, options);
    this.temporary = options?.temporary ?? false;
  }
}

/** A warehouse or staging statement failed. */
export class WarehouseError extends MusicError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('WAREHOUSE_FAILED', message, options);
  }
}

/** dbt compile/run/test failure. */
export class TransformError extends MusicError {
  constructor(message: string, readonly model?: string, options?: { cause?: unknown }) {
    super('TRANSFORM_FAILED', message, options);
  }
}

/** No published snapshot, or a snapshot that cannot be read. */
export class SnapshotError extends MusicError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SNAPSHOT_UNAVAILABLE', message, options);
  }
}

/**
 * A load would remove more than half of the rows staged from one source file (a truncated download looks
 * like this). Nothing was written; the run must be told to accept it (`--allow-shrink`, `MUSIC_ALLOW_SHRINK=1`).
 */
export class StagingShrinkError extends MusicError {
  constructor(
    message: string,
    readonly file: string,
    /** Rows staged from `file` before the load. */
    readonly staged: number,
    /** Of those, rows the new version of the file no longer has. */
    readonly removed: number,
  ) {
    super('STAGING_SHRINK_REFUSED', message);
  }
}
