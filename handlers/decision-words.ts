/**
 * How a decision reads to a person, written once: the `deploy-guard decisions` table and the
 * notifications (handlers/notify-domain.ts) say risk, cut and budget the same way.
 */

/** The probability against the cut it was decided with: `0.620 ≥ 0.310`, `0.050 < 0.350`, `no score`. */
export function riskAgainstCut(probability: number | null, cut: number | null): string {
  if (probability === null) return 'no score';
  const reaches = cut !== null && probability >= cut;
  return `${probability.toFixed(3)} ${reaches ? '≥' : '<'} ${cut === null ? 'no cut' : cut.toFixed(3)}`;
}

/** The block budget: `10.0 %`, or `fixed cut` when an expert's threshold decided. */
export function budgetWords(blockBudget: number | null): string {
  return blockBudget === null ? 'fixed cut' : `${(blockBudget * 100).toFixed(1)} %`;
}
