/**
 * One line per measured figure, so that `npm run bench` (bench/all.ts) can gather every benchmark's
 * figures into one table: `FIGURE<TAB>name<TAB>value<TAB>unit<TAB>target<TAB>verdict`.
 */
export interface Figure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** The target in words, e.g. `≥ 250,000`; absent when the figure has none. */
  readonly target?: string;
  /** Whether the target is met; absent when there is no target. */
  readonly ok?: boolean;
}

export const FIGURE_PREFIX = 'FIGURE\t';

export function printFigure(figure: Figure): void {
  const verdict = figure.ok === undefined ? '-' : figure.ok ? 'OK' : 'BELOW TARGET';
  console.log(`${FIGURE_PREFIX}${figure.name}\t${figure.value}\t${figure.unit}\t${figure.target ?? '-'}\t${verdict}`);
}

export function parseFigures(output: string): Figure[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith(FIGURE_PREFIX))
    .map((line) => {
      const [, name, value, unit, target, verdict] = line.split('\t');
      return { name, value: Number(value), unit, ...(target !== '-' ? { target } : {}), ...(verdict !== '-' ? { ok: verdict === 'OK' } : {}) };
    });
}
