/** Resolves at the first SIGINT or SIGTERM: long-running commands stop cleanly on either. */
export function untilSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}
