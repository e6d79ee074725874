import { gunzipSync } from 'node:zlib';
import { createFeatureList } from '../../model/features';
import { fitLogisticRegression } from '../../model/logistic';
import { rocAuc } from '../../model/metrics';
import { tarGzip } from '../../model/tar';

describe('the logistic-regression baseline', () => {
  const list = createFeatureList({ names: ['srcChurn', 'previousFailed', 'deploymentGroup'], groups: ['a', 'b'] });
  // Failures follow big changes and earlier failures; group b fails more; some values are missing.
  const vectors: number[][] = [];
  const labels: boolean[] = [];
  for (let index = 0; index < 400; index += 1) {
    const churn = (index * 37) % 1000;
    const previous = index % 3 === 0 ? 1 : 0;
    const group = index % 2;
    vectors.push([index % 10 === 0 ? NaN : churn, previous, group]);
    labels.push(churn * 0.004 + previous * 1.5 + group * 0.8 + ((index * 7919) % 100) / 50 > 3.2);
  }
  const model = fitLogisticRegression(list, vectors, labels);

  it('learns the direction of each feature', () => {
    const base = model.predict([100, 0, 0]);
    expect(model.predict([900, 0, 0])).toBeGreaterThan(base);
    expect(model.predict([100, 1, 0])).toBeGreaterThan(base);
    expect(model.predict([100, 0, 1])).toBeGreaterThan(base);
  });

  it('ranks well on the data it was fitted on, missing values included', () => {
    expect(rocAuc(labels, vectors.map((vector) => model.predict(vector)))).toBeGreaterThan(0.85);
    expect(Number.isFinite(model.predict([NaN, NaN, NaN]))).toBe(true);
  });

  it('is deterministic', () => {
    expect(fitLogisticRegression(list, vectors, labels).predict([500, 1, 1])).toBe(model.predict([500, 1, 1]));
  });

  it('refitted from an earlier fit (a moved window), reaches the same optimum as from scratch', () => {
    const moved = { vectors: vectors.slice(50), labels: labels.slice(50) };
    const cold = fitLogisticRegression(list, moved.vectors, moved.labels);
    const warm = fitLogisticRegression(list, moved.vectors, moved.labels, { start: model });
    for (const vector of [[100, 0, 0], [900, 1, 1], [NaN, 0, 1]]) expect(warm.predict(vector)).toBeCloseTo(cold.predict(vector), 9);
    expect(warm.weights).toHaveLength(cold.weights.length);
  });
});

describe('model.tar.gz', () => {
  it('holds exactly one file, xgboost-model, in a valid ustar archive', () => {
    const content = Buffer.from('{"learner": {}}\n');
    const tar = gunzipSync(tarGzip([{ name: 'xgboost-model', content }]));
    expect(tar.length % 512).toBe(0);
    const header = tar.subarray(0, 512);
    expect(header.toString('ascii', 0, 13)).toBe('xgboost-model');
    expect(header[13]).toBe(0);
    expect(parseInt(header.toString('ascii', 124, 135), 8)).toBe(content.length);
    expect(header.toString('ascii', 257, 263)).toBe('ustar\u0000');
    const stored = parseInt(header.toString('ascii', 148, 154), 8);
    let sum = 0;
    for (let index = 0; index < 512; index += 1) sum += index >= 148 && index < 156 ? 0x20 : header[index];
    expect(stored).toBe(sum);
    expect(tar.subarray(512, 512 + content.length).equals(content)).toBe(true);
    // After the one file's padded content: only the two zero blocks that end the archive.
    expect(tar.length).toBe(512 + 512 + 1024);
    expect(tar.subarray(1024).every((byte) => byte === 0)).toBe(true);
  });

  it('is the same bytes for the same model', () => {
    const content = Buffer.from('model');
    expect(tarGzip([{ name: 'xgboost-model', content }]).equals(tarGzip([{ name: 'xgboost-model', content }]))).toBe(true);
  });
});
