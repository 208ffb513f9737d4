/** Runs every cleanup (last registered first) even when one fails, then reports the failures. */
export async function runCleanups(cleanups: (() => Promise<void> | void)[]): Promise<void> {
  const errors: unknown[] = [];
  for (const c of cleanups.reverse()) {
    try {
      await c();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length) throw new AggregateError(errors, `${errors.length} cleanup step(s) failed`);
}
