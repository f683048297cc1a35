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
  constructor(message: string, options?: { cause?: unknown }) {
    super('DATASET_UNAVAILABLE', message, options);
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
