/**
 * One bad row must not stop a batch. A batch the store refuses for its data is split in
 * halves, and each half inserted again, until the refused rows stand alone: each goes to the
 * caller's dead-letter hook at once (before any later half is stored, so the stored rows stay
 * a prefix plus what follows a dead-lettered row) and everything else is stored. One poison
 * row among n costs about 2·log2(n) inserts; the row list is built only after a refusal.
 * Any other failure (store unreachable, timeout) is thrown to the caller, which retries.
 */
import { isDataRefusal } from './store.js';

export interface Isolated<T> {
  /** Rows refused on their own (already handed to onRefused). */
  refused: T[];
}

export async function insertIsolating<T>(
  insertWhole: () => Promise<void>,
  rows: () => readonly T[],
  insertPart: (part: readonly T[]) => Promise<void>,
  onRefused: (row: T, detail: string) => Promise<void>,
): Promise<Isolated<T>> {
  const out: Isolated<T> = { refused: [] };
  /** Inserts a part the store has not seen yet; or, given the refusal of a part, splits or dead-letters it. */
  const attempt = async (part: readonly T[], refusal?: Error): Promise<void> => {
    if (part.length === 0) return;
    if (!refusal) {
      try {
        await insertPart(part);
        return;
      } catch (err) {
        if (!isDataRefusal(err)) throw err;
        refusal = err;
      }
    }
    if (part.length === 1) {
      out.refused.push(part[0] as T);
      await onRefused(part[0] as T, refusal.message.replace(/\s+/g, ' ').slice(0, 1000));
      return;
    }
    const mid = Math.ceil(part.length / 2);
    await attempt(part.slice(0, mid));
    await attempt(part.slice(mid));
  };
  try {
    await insertWhole();
    return out;
  } catch (err) {
    if (!isDataRefusal(err)) throw err;
    await attempt(rows(), err);
  }
  return out;
}
