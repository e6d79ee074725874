import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CsvParseError, FeatureCountError, XGBoostModelError, expf, expfExact, loadXGBoostModel, logf, parseCsvRows,
  parsePythonFloat, probabilityToMargin, scoreCsv, sigmoid32,
} from '../../model/xgboost';
import { formatCsvResponse, formatJsonResponse, pythonFloatRepr } from '../../model/serving-format';
import { fixtureBytes, fixtureMeta, fixtureText, scorerFixtures } from '../../model/fixtures/scorer-fixture';

const fixtures = scorerFixtures();
if (fixtures.skipNote) console.warn(fixtures.skipNote);

function lines(text: string): string[] {
  return text.split('\n').slice(0, -1);
}

/** Up to five differing lines, for a readable failure instead of two 15,000-line strings. */
function firstDifferences(expected: string, actual: string): string[] {
  const want = expected.split('\n');
  const got = actual.split('\n');
  const differences: string[] = [];
  for (let index = 0; index < Math.max(want.length, got.length) && differences.length < 5; index += 1) {
    if (want[index] !== got[index]) differences.push(`line ${index + 1}: XGBoost ${want[index]}, scorer ${got[index]}`);
  }
  return differences;
}

describe.each(fixtures.sources)('scoring against the $label XGBoost 1.7.4 fixture', ({ dir }) => {
  const modelJson = fixtureText(dir, 'model.json');
  const model = loadXGBoostModel(modelJson);
  const body = fixtureBytes(dir, 'rows.csv.gz');

  it('answers every row with the exact bytes of the container text/csv response', () => {
    const expected = fixtureText(dir, 'response.csv.gz');
    const actual = formatCsvResponse(scoreCsv(model, body));
    expect(lines(expected).length).toBeGreaterThanOrEqual(10_000);
    expect(firstDifferences(expected, actual)).toEqual([]);
    expect(actual).toBe(expected);
  });

  it('gives the same float32 from predict(row), predictMargin and predictBatch', () => {
    const rows = parseCsvRows(body);
    const batch = model.predictBatch(rows.values, rows.rowCount);
    for (let row = 0; row < 2000; row += 1) {
      const values = Array.from(rows.values.subarray(row * rows.columnCount, (row + 1) * rows.columnCount));
      expect(model.predict(values)).toBe(batch[row]);
      expect(sigmoid32(model.predictMargin(values))).toBe(batch[row]);
    }
  });

  it('answers application/json exactly like the container for the first 100 rows', () => {
    const first100 = parseCsvRows(body).values.subarray(0, 100 * model.featureCount);
    expect(formatJsonResponse(model.predictBatch(first100, 100))).toBe(fixtureText(dir, 'response-first100.json'));
  });

  it('uses only the first best_ntree_limit trees when the model was saved with that attribute', () => {
    const meta = fixtureMeta(dir);
    const json = JSON.parse(modelJson);
    json.learner.attributes.best_ntree_limit = String(meta.limit);
    const limited = loadXGBoostModel(json);
    expect(limited.forest.treeCount).toBe(meta.limit);
    expect(limited.totalTrees).toBe(model.totalTrees);
    const subset = parseCsvRows(body).values.subarray(0, meta.subset_rows * model.featureCount);
    expect(formatCsvResponse(limited.predictBatch(subset, meta.subset_rows))).toBe(fixtureText(dir, 'limited-response.csv.gz'));
  });

  it('starts from -logf(1/base_score - 1) in float32 when base_score is not 0.5', () => {
    const meta = fixtureMeta(dir);
    const other = loadXGBoostModel(fixtureText(dir, 'base-score-model.json'));
    expect(other.baseScore).toBe(Math.fround(0.3));
    const subset = parseCsvRows(body).values.subarray(0, meta.subset_rows * model.featureCount);
    expect(formatCsvResponse(other.predictBatch(subset, meta.subset_rows))).toBe(fixtureText(dir, 'base-score-response.csv.gz'));
  });

  it('treats the columns a row does not have as missing', () => {
    expect(formatCsvResponse(scoreCsv(model, fixtureBytes(dir, 'fewer-columns.csv')))).toBe(fixtureText(dir, 'fewer-columns-response.csv'));
  });

  it('computes the sigmoid bit for bit where a double-precision Math.exp gets the last bit wrong', () => {
    const probes = lines(fixtureText(dir, 'sigmoid.csv.gz')).map((line) => line.split(',').map(Number));
    const wrong = probes.filter(([margin, probability]) => sigmoid32(margin) !== probability);
    expect(wrong).toEqual([]);
    const naive = (margin: number) => Math.fround(1 / Math.fround(Math.fround(Math.exp(Math.min(-margin, Math.fround(88.7)))) + 1));
    // The fixture holds the margins where the naive formula fails: the test above has teeth.
    expect(probes.filter(([margin, probability]) => naive(margin) !== probability).length).toBeGreaterThan(10);
  });
});

describe('the regenerated fixture', () => {
  (fixtures.sources.some((source) => source.label === 'regenerated') ? it : it.skip)(
    'was made by XGBoost 1.7 during this run',
    () => {
      const regenerated = fixtures.sources.find((source) => source.label === 'regenerated');
      expect(fixtureMeta(regenerated?.dir as string).xgboost).toMatch(/^1\.7\./);
    },
  );
});

describe('glibc float math (x86-64 FMA variants)', () => {
  it('handles the special ranges of expf like glibc', () => {
    expect(expf(0)).toBe(1);
    expect(expf(-Infinity)).toBe(0);
    expect(expf(Infinity)).toBe(Infinity);
    expect(expf(NaN)).toBeNaN();
    expect(expf(Math.fround(88.8))).toBe(Infinity);
    expect(expf(-104)).toBe(0);
    expect(expf(Math.fround(-103.5))).toBe(2 ** -149); // __math_may_uflowf
    expect(expf(Math.fround(88.7))).toBe(3.325976864406685e38); // glibc's answer
  });

  it('takes the exact fused path to the same result as the fast path', () => {
    const view = new DataView(new ArrayBuffer(4));
    let state = 12345;
    for (let index = 0; index < 20_000; index += 1) {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      view.setUint32(0, (state % 0x42b00000) | (index % 2 ? 0x80000000 : 0));
      const x = view.getFloat32(0);
      expect(expf(x)).toBe(expfExact(x));
    }
  });

  it('computes logf and the base margin like glibc and XGBoost', () => {
    expect(logf(1)).toBe(0);
    expect(logf(0)).toBe(-Infinity);
    expect(logf(-1)).toBeNaN();
    expect(logf(Infinity)).toBe(Infinity);
    // glibc's answers (a C program calling logf on this machine)
    expect(logf(2)).toBe(0.69314718246459961);
    expect(logf(Math.fround(Math.E))).toBe(0.99999994039535522);
    expect(logf(2 ** -140)).toBe(-97.040603637695312);
    expect(logf(Math.fround(0.3))).toBe(-1.2039728164672852);
    expect(probabilityToMargin(0.5)).toBe(-0);
    expect(probabilityToMargin(Math.fround(0.3))).toBe(-0.84729784727096558);
  });
});

/** The parts of the saved model JSON the tests below change. */
interface ModelJson {
  version: number[];
  learner: {
    objective: { name: string };
    gradient_booster: { name: string; model: { trees: { split_type: number[]; split_indices: number[] }[] } };
    learner_model_param: { num_class: string; base_score: string };
  };
}

describe('loading a model', () => {
  const fixtureJson = (): ModelJson => JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'xgboost', 'model.json'), 'utf8'));

  it('reads the feature count, base score and trees', () => {
    const model = loadXGBoostModel(fixtureJson());
    expect(model.featureCount).toBe(12);
    expect(model.baseScore).toBe(0.5);
    expect(model.forest.treeCount).toBe(80);
    expect(model.forest.maxDepth).toBeLessThanOrEqual(5);
    expect(model.version).toEqual([1, 7, 4]);
  });

  it.each([
    ['learner.objective.name', (json: ModelJson) => { json.learner.objective.name = 'reg:squarederror'; }, /only binary:logistic/],
    ['learner.gradient_booster.name', (json: ModelJson) => { json.learner.gradient_booster.name = 'dart'; }, /only the gbtree booster/],
    ['learner.learner_model_param.num_class', (json: ModelJson) => { json.learner.learner_model_param.num_class = '3'; }, /expected 0/],
    ['learner.learner_model_param.base_score', (json: ModelJson) => { json.learner.learner_model_param.base_score = '1.5E0'; }, /must be in \(0,1\)/],
    ['version', (json: ModelJson) => { json.version = [2, 0, 3]; }, /XGBoost 1\.x/],
    ['learner.gradient_booster.model.trees[3].split_type[0]', (json: ModelJson) => { json.learner.gradient_booster.model.trees[3].split_type[0] = 1; }, /categorical/],
    ['learner.gradient_booster.model.trees[0].split_indices[0]', (json: ModelJson) => { json.learner.gradient_booster.model.trees[0].split_indices[0] = 99; }, /outside 0\.\.11/],
  ])('rejects a model whose %s is unsupported, naming the field', (field, mutate, reason) => {
    const json = fixtureJson();
    mutate(json);
    let caught: unknown;
    try {
      loadXGBoostModel(json);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(XGBoostModelError);
    expect((caught as XGBoostModelError).field).toBe(field);
    expect((caught as Error).message).toMatch(reason);
  });

  it('rejects text that is not JSON', () => {
    expect(() => loadXGBoostModel('binf\0\0')).toThrow(/not JSON/);
  });
});

/** A two-feature model: one stump on f0 < 0.5 (missing goes right), leaves -1 and +1. */
function stump(): ReturnType<typeof loadXGBoostModel> {
  return loadXGBoostModel({
    version: [1, 7, 4],
    learner: {
      attributes: {},
      feature_names: ['a', 'b'],
      learner_model_param: { base_score: '5E-1', num_class: '0', num_feature: '2', num_target: '1' },
      objective: { name: 'binary:logistic' },
      gradient_booster: {
        name: 'gbtree',
        model: {
          gbtree_model_param: { num_parallel_tree: '1', num_trees: '1' },
          tree_info: [0],
          trees: [{
            tree_param: { num_nodes: '3' },
            left_children: [1, -1, -1], right_children: [2, -1, -1], split_indices: [0, 0, 0],
            split_conditions: [0.5, -1, 1], default_left: [0, 0, 0], sum_hessian: [40, 30, 10], split_type: [0, 0, 0],
          }],
        },
      },
    },
  });
}

describe('scoring rules', () => {
  it('goes left only when the float32 value is below the split, and right on equality', () => {
    const model = stump();
    expect(model.predictMargin([0.49999997, 0])).toBe(-1);
    expect(model.predictMargin([0.5, 0])).toBe(1);
    // 0.49999999 is below 0.5 as a double but rounds to 0.5 as float32, as XGBoost reads it.
    expect(model.predictMargin([0.49999999, 0])).toBe(1);
    expect(model.predictMargin([NaN, 0])).toBe(1);
    expect(model.predictMargin([])).toBe(1);
    expect(model.featureNames).toEqual(['a', 'b']);
  });

  it('refuses more values than the model has features', () => {
    expect(() => stump().predict([1, 2, 3])).toThrow(FeatureCountError);
    expect(() => scoreCsv(stump(), '1,2,3\n')).toThrow(/num_feature >= p_fmat->Info\(\).num_col_ \(2 vs. 3\)/);
  });
});

describe('parsing text/csv like the container', () => {
  const parse = (body: string) => {
    const rows = parseCsvRows(body);
    return { rows: rows.rowCount, columns: rows.columnCount, values: Array.from(rows.values) };
  };
  const failure = (body: string | Uint8Array): CsvParseError => {
    try {
      parseCsvRows(body);
    } catch (error) {
      if (error instanceof CsvParseError) return error;
      throw error;
    }
    throw new Error('expected a CsvParseError');
  };

  it('ignores surrounding whitespace and the trailing newline, and reads empty fields as missing', () => {
    expect(parse('\n 1,,3\r\n4,5,\n\n')).toEqual({ rows: 2, columns: 3, values: [1, NaN, 3, 4, 5, NaN] });
  });

  it('rounds each value to float32 after reading it as a double', () => {
    expect(parse('0.1,16777217')).toEqual({ rows: 1, columns: 2, values: [Math.fround(0.1), 16777216] });
  });

  it("reads numbers the way Python's float() does", () => {
    expect(parse('1_000, 7 ,.5,5.,nan,1e-3,+2,1.0_1')).toEqual({
      rows: 1, columns: 8, values: [1000, 7, 0.5, 5, NaN, Math.fround(0.001), 2, Math.fround(1.01)],
    });
    expect(parsePythonFloat('1_000')).toBe(1000);
    expect(parsePythonFloat('\u00a07\u2003')).toBe(7);
    expect(parsePythonFloat('-Infinity')).toBe(-Infinity);
    expect(parsePythonFloat('+nan')).toBeNaN();
    for (const invalid of ['1__0', '_1', '1_', '0x10', '1e', '', ' ', '1 2', '1,5', 'infinit', '\x1c1']) expect(parsePythonFloat(invalid)).toBeUndefined();
  });

  it('finds the delimiter as csv.Sniffer does on the first line', () => {
    expect(parse('1;2;3\n4;5;6').columns).toBe(3);
    expect(parse('1\t2\n3\t4').values).toEqual([1, 2, 3, 4]);
    expect(parse('1 2\n3 4').values).toEqual([1, 2, 3, 4]);
    // A lone number: the sniffer picks a digit, which the container replaces by a comma.
    expect(parse('0.5\n0.25')).toEqual({ rows: 2, columns: 1, values: [0.5, 0.25] });
  });

  it('refuses a blank line inside the body, naming the row', () => {
    const error = failure('1,2\n\n3,4\n');
    expect(error.row).toBe(2);
    expect(error.pythonType).toBe("<class 'ValueError'>");
    expect(error.message).toMatch(/^row 2: setting an array element with a sequence/);
  });

  it('refuses rows with a different number of fields, naming the first such row', () => {
    const error = failure('1,2,3\n4,5,6\n7,8\n');
    expect(error.row).toBe(3);
    expect(error.message).toContain('row 3 has 2 fields, row 1 has 3');
  });

  it('refuses a field that is not a number with the message numpy gives', () => {
    const error = failure('1,2\n3,abc\n');
    expect([error.row, error.column]).toEqual([2, 2]);
    expect(error.pythonMessage).toBe("could not convert string to float: 'abc'");
    expect(failure('1,\r\n2,3').pythonMessage).toBe("could not convert string to float: '\\r'");
  });

  it('refuses an infinite value the way DMatrix does, after every field has parsed', () => {
    const error = failure('1,1e39\n2,3\n');
    expect(error.pythonType).toBe("<class 'xgboost.core.XGBoostError'>");
    expect([error.row, error.column]).toEqual([1, 2]);
    expect(failure('inf,1\nx,2').pythonMessage).toMatch(/could not convert/);
  });

  it('has no delimiter for a body of whitespace, and keeps a byte-order mark as Python does', () => {
    expect(failure(' \n\t\n').pythonMessage).toBe('Could not determine delimiter');
    expect(failure(Buffer.from('\ufeff1,2', 'utf8')).pythonMessage).toBe("could not convert string to float: '\\ufeff1'");
    expect(failure(new Uint8Array([0x31, 0x2c, 0xff])).pythonType).toBe("<class 'UnicodeDecodeError'>");
  });
});

describe('Python float repr', () => {
  it.each([
    [0.5383983850479126, '0.5383983850479126'], [1, '1.0'], [1e-5, '1e-05'], [0.0001, '0.0001'],
    [1.5e-7, '1.5e-07'], [1e16, '1e+16'], [1e15, '1000000000000000.0'], [123.456, '123.456'], [-0, '-0.0'],
    [NaN, 'nan'], [-Infinity, '-inf'], [5e-324, '5e-324'], [1.7976931348623157e308, '1.7976931348623157e+308'],
    [2 ** -149, '1.401298464324817e-45'], [Math.fround(0.1), '0.10000000149011612'], [1e21, '1e+21'], [1e-7, '1e-07'],
  ])('formats %p as %s', (value, text) => {
    expect(pythonFloatRepr(value)).toBe(text);
  });
});
