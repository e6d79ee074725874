import { EMPTY_BOOK } from './bake-domain';
import type { BakeBook, BakeRecord, BakeStore } from './ports';

/** The book of open bakes, changed by compare-and-set: shared by the bake handler and the traffic hook. */

/** Compare-and-set attempts on the book before giving up loudly (each lost one means another invocation moved it). */
export const MAX_BOOK_WRITE_ATTEMPTS = 10;

/** Read, change, compare-and-set, retried while another invocation wins; resolves the book as written and what the change claimed. */
export async function updateBook(
  bakes: BakeStore,
  change: (book: BakeBook) => { readonly book: BakeBook; readonly claimed: readonly BakeRecord[] },
): Promise<{ readonly book: BakeBook; readonly claimed: readonly BakeRecord[] }> {
  for (let attempt = 1; attempt <= MAX_BOOK_WRITE_ATTEMPTS; attempt += 1) {
    const stored = await bakes.readBook();
    const current = stored?.book ?? EMPTY_BOOK;
    const next = change(current);
    if (next.book === current) return { book: current, claimed: [] };
    if (await bakes.writeBook(next.book, stored?.revision ?? null)) return next;
  }
  throw new Error(`the bakes were moved by other writers ${MAX_BOOK_WRITE_ATTEMPTS} times in a row; the event is retried`);
}
