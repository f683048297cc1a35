/**
 * `promise`, or a rejection with `reason(signal)` as soon as `signal` aborts, whichever comes first.
 * The promise itself keeps running (give it the signal too if it can stop early); its listener on the
 * signal is removed once either side settles, so a long-lived signal does not collect listeners.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal, reason: (signal: AbortSignal) => unknown): Promise<T> {
  if (signal.aborted) return Promise.reject(reason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(reason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
