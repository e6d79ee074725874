import type { FeatureDefinition, FeatureList } from './features';

/**
 * Explanations in words: the few features that pushed a prediction most (by TreeSHAP contribution
 * to the log-odds of failure), each as a developer would say it: "412 lines of source changed",
 * "3 of the last 5 deployments failed". The wording comes from the feature schema's phrases.
 */

export interface Factor {
  readonly feature: string;
  /** The feature's value; null when it was missing. */
  readonly value: number | null;
  /** Contribution to the log-odds of failure; positive pushes towards failure. */
  readonly contribution: number;
  readonly text: string;
}

/**
 * What the vector alone does not say: how many deployments a failure rate was taken over. With it,
 * a rate reads "2 of the last 3 deployments failed"; without it, "67 % of the last few ...".
 */
export interface ExplanationContext {
  /** Deployments of the group with a known outcome before this one. */
  readonly knownOutcomes?: number;
  /** The author's deployments with a known outcome before this one. */
  readonly authorKnownOutcomes?: number;
}

export interface FactorOptions {
  /** How many factors (default 3). */
  readonly count?: number;
  /** 'risk': only the factors that raise the risk; 'both' (default): the largest either way. */
  readonly direction?: 'risk' | 'both';
  readonly context?: ExplanationContext;
}

/**
 * The top factors of one prediction. `contributions` has one entry per feature of `list`, in its
 * order; a trailing extra entry (XGBoost's bias column) is ignored. Factors with no contribution are
 * left out.
 */
export function topFactors(
  list: FeatureList,
  vector: ArrayLike<number>,
  contributions: ArrayLike<number>,
  options: FactorOptions = {},
): Factor[] {
  const count = options.count ?? 3;
  if (vector.length !== list.features.length) {
    throw new Error(`the feature vector has ${vector.length} values but the model has ${list.features.length} features`);
  }
  if (contributions.length !== list.features.length && contributions.length !== list.features.length + 1) {
    throw new Error(`${contributions.length} contributions for ${list.features.length} features`);
  }
  const candidates = list.features
    .map((feature, index) => ({ feature, index, contribution: contributions[index] }))
    .filter(({ contribution }) => contribution !== 0 && (options.direction !== 'risk' || contribution > 0));
  candidates.sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution) || a.index - b.index);
  return candidates.slice(0, count).map(({ feature, index, contribution }) => {
    const value = vector[index];
    return {
      feature: feature.name,
      value: Number.isNaN(value) ? null : value,
      contribution,
      text: describeValue(feature, value, list, options.context),
    };
  });
}

const DAYS = ['', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

/** One feature value in words, from the feature's phrase. */
export function describeValue(feature: FeatureDefinition, value: number, list: FeatureList, context: ExplanationContext = {}): string {
  const phrase = feature.phrase;
  const fill = (template: string, values: Record<string, string>) =>
    template.replace(/\{(\w+)\}/g, (whole, key: string) => values[key] ?? whole);
  const base = { name: feature.name };
  if (Number.isNaN(value)) return fill(phrase.missing, base);
  const other = phrase.other ?? `${feature.name} = {value}`;
  switch (feature.type) {
    case 'boolean':
      return fill(value >= 0.5 ? (phrase.yes ?? `${feature.name}`) : (phrase.no ?? `not ${feature.name}`), base);
    case 'count': {
      if (value === 0 && phrase.zero) return phrase.zero;
      if (value === 1 && phrase.one) return phrase.one;
      return fill(other, { ...base, n: formatNumber(value) });
    }
    case 'rate': {
      const known = feature.name === 'authorRecentFailureRate' ? context.authorKnownOutcomes : context.knownOutcomes;
      if (feature.window !== undefined && known !== undefined && known > 0 && phrase.ofWindow) {
        const window = Math.min(feature.window, known);
        const failures = Math.round(value * window);
        if (Math.abs(failures - value * window) < 1e-6) return fill(phrase.ofWindow, { ...base, k: String(failures), window: String(window) });
      }
      return fill(other, { ...base, percent: `${Math.round(value * 100)} %` });
    }
    case 'hours':
      return fill(other, { ...base, duration: formatDuration(value) });
    case 'hour-of-day':
      return fill(other, { ...base, hour: String(value).padStart(2, '0'), timeZone: list.timeZone });
    case 'day-of-week':
      return fill(other, { ...base, day: DAYS[value] ?? `day ${value}` });
    case 'category':
      return fill(other, { ...base, group: list.groups[value] ?? `#${value}` });
    case 'number':
      return fill(other, { ...base, value: formatNumber(value) });
  }
}

function formatNumber(value: number): string {
  if (Number.isInteger(value)) return formatWhole(value);
  const rounded = Number(value.toPrecision(4));
  return Math.abs(rounded) >= 1000 ? formatWhole(rounded) : String(rounded);
}

/**
 * A number rounded to a whole one (halves away from zero) with a comma between thousands, as
 * `Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })` writes it for the finite values a
 * feature takes. Written out because creating an `Intl.NumberFormat` loads ICU's locale data: at
 * module scope it was a tenth of the predict bundle's cold load, and on the first assessment it
 * would be the same cost moved.
 */
export function formatWhole(value: number): string {
  const whole = Math.round(Math.abs(value));
  if (!Number.isFinite(whole) || whole >= 1e21) return String(value);
  const digits = String(whole).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return value < 0 && whole !== 0 ? `-${digits}` : digits;
}

function formatDuration(hours: number): string {
  const plural = (count: number, unit: string) => `${count} ${unit}${count === 1 ? '' : 's'}`;
  if (hours < 1) {
    const minutes = Math.round(hours * 60);
    return minutes < 1 ? 'less than a minute' : plural(minutes, 'minute');
  }
  if (hours < 48) return plural(Math.round(hours), 'hour');
  return plural(Math.round(hours / 24), 'day');
}
