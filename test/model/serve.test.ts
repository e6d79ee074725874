import { spawnSync } from 'node:child_process';
import { RunningServer, parseHeader, startServer } from '../../model/serve';
import { formatCsvResponse, formatJsonResponse, pythonFloatRepr } from '../../model/serving-format';
import { XGBoostModel, loadXGBoostModel } from '../../model/xgboost';
import { COMMITTED_FIXTURE, PYTHON, fixtureText } from '../../model/fixtures/scorer-fixture';

const dir = COMMITTED_FIXTURE;
const model: XGBoostModel = loadXGBoostModel(fixtureText(dir, 'model.json'));
const rows = fixtureText(dir, 'rows.csv.gz').split('\n');
const expectedLines = fixtureText(dir, 'response.csv.gz').split('\n');
const first100 = `${rows.slice(0, 100).join('\n')}\n`;
const first100Csv = `${expectedLines.slice(0, 100).join('\n')}\n`;

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({ model, port: 0, host: '127.0.0.1', maxContentLength: 1024 * 1024 });
});

afterAll(async () => {
  await server.close();
});

async function post(body: string | Buffer, headers: Record<string, string>, path = '/invocations') {
  const response = await fetch(`${server.url}${path}`, { method: 'POST', body, headers });
  return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
}

describe('the endpoint stand-in over HTTP', () => {
  it('answers GET /ping with 200', async () => {
    const response = await fetch(`${server.url}/ping`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
  });

  it('answers text/csv rows with the container text/csv bytes (the default Accept)', async () => {
    const response = await post(first100, { 'Content-Type': 'text/csv' });
    expect(response).toEqual({ status: 200, type: 'text/csv; charset=utf-8', body: first100Csv });
  });

  it.each(['text/csv', '*/*', 'text/csv; q=0.9'])('answers text/csv for Accept %s', async (accept) => {
    expect((await post(first100, { 'Content-Type': 'text/csv', Accept: accept })).body).toBe(first100Csv);
  });

  it('answers application/json with {"predictions": [{"score": p}, ...]} as json.dumps writes it', async () => {
    const response = await post(first100, { 'Content-Type': 'text/csv', Accept: 'application/json' });
    expect(response).toEqual({ status: 200, type: 'application/json', body: fixtureText(dir, 'response-first100.json') });
  });

  it.each(['text/csv; charset=utf-8', 'TEXT/CSV', 'csv', 'text/csv; label_size=1'])('accepts Content-Type %s', async (type) => {
    expect((await post(first100, { 'Content-Type': type })).status).toBe(200);
  });

  it('answers 204 with no body to an empty payload, whatever its Content-Type', async () => {
    expect(await post('', { 'Content-Type': 'application/pdf' })).toMatchObject({ status: 204, body: '' });
  });

  it('answers 415 to an unsupported Content-Type, listing the accepted ones', async () => {
    expect(await post('1,2', { 'Content-Type': 'application/pdf' })).toMatchObject({
      status: 415,
      body: 'application/pdf is not an accepted ContentType: csv, libsvm, parquet, recordio-protobuf, text/csv, text/libsvm, text/x-libsvm, application/x-parquet, application/x-recordio-protobuf.',
    });
  });

  it('answers 415 to a csv label_size other than 1', async () => {
    expect(await post('1,2', { 'Content-Type': 'text/csv; label_size=2' })).toMatchObject({
      status: 415,
      body: 'text/csv; label_size=2 is not an accepted csv ContentType. Optional parameter label_size must be equal to 1',
    });
  });

  it('answers 415 to a content type the container parses but this stand-in does not', async () => {
    const response = await post('0 1:2', { 'Content-Type': 'text/libsvm' });
    expect(response.status).toBe(415);
    expect(response.body).toMatch(/text\/csv only/);
  });

  it('answers 415 to rows that do not parse, with the container message', async () => {
    expect(await post('1,2\n3,abc\n', { 'Content-Type': 'text/csv' })).toMatchObject({
      status: 415,
      body: "Loading csv data failed with Exception, please ensure data is in csv format:\n <class 'ValueError'>\n could not convert string to float: 'abc'",
    });
    const ragged = await post('1,2\n\n3,4\n', { 'Content-Type': 'text/csv' });
    expect(ragged.status).toBe(415);
    expect(ragged.body).toMatch(/^Loading csv data failed with Exception, please ensure data is in csv format:\n <class 'ValueError'>\n setting an array element with a sequence/);
  });

  it('answers 400 to more columns than the model has features', async () => {
    const response = await post(`${rows[0]},1\n`, { 'Content-Type': 'text/csv' });
    expect(response.status).toBe(400);
    expect(response.body).toBe('Unable to evaluate payload provided: Check failed: learner_model_param_.num_feature >= p_fmat->Info().num_col_ (12 vs. 13) : Number of columns does not match number of features in booster.');
  });

  it('answers 406 to an unsupported Accept, after parsing the rows', async () => {
    expect(await post(first100, { 'Content-Type': 'text/csv', Accept: 'text/plain' })).toMatchObject({
      status: 406,
      body: "Accept type text/plain is not supported. Please use supported accept types: ['application/json', 'application/jsonlines', 'application/x-recordio-protobuf', 'text/csv'].",
    });
    // A list of types is not negotiated: the container reads it as one unknown type.
    expect((await post(first100, { 'Content-Type': 'text/csv', Accept: 'application/json, text/csv' })).status).toBe(406);
    // The body is checked first: a bad body with a bad Accept is a 415.
    expect((await post('x', { 'Content-Type': 'text/csv', Accept: 'text/plain' })).status).toBe(415);
  });

  it('answers 500 to the accepted types sagemaker-containers cannot encode', async () => {
    expect((await post(first100, { 'Content-Type': 'text/csv', Accept: 'application/jsonlines' })).status).toBe(500);
  });

  it('answers 413 above the maximum content length, 404 elsewhere, 405 to the wrong method', async () => {
    expect((await post(Buffer.alloc(1024 * 1024 + 1, 0x31), { 'Content-Type': 'text/csv' })).status).toBe(413);
    expect((await fetch(`${server.url}/predict`)).status).toBe(404);
    expect((await fetch(`${server.url}/invocations`)).status).toBe(405);
  });

  it('reports the batch-transform execution parameters', async () => {
    const response = await fetch(`${server.url}/execution-parameters`);
    expect(await response.json()).toMatchObject({ BatchStrategy: 'MULTI_RECORD', MaxPayloadInMB: 1 });
  });
});

describe('settings the container takes from its environment', () => {
  it('answers with SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT when no Accept is sent, and str() lines in batch mode', async () => {
    const configured = await startServer({ model, port: 0, defaultAccept: 'application/json' });
    const batch = await startServer({ model, port: 0, batch: true });
    try {
      const json = await fetch(`${configured.url}/invocations`, { method: 'POST', body: first100, headers: { 'Content-Type': 'text/csv' } });
      expect(await json.text()).toBe(fixtureText(dir, 'response-first100.json'));
      const lines = await fetch(`${batch.url}/invocations`, { method: 'POST', body: first100, headers: { 'Content-Type': 'text/csv', Accept: 'application/json' } });
      expect(lines.headers.get('content-type')).toBe('application/json');
      expect(await lines.text()).toBe(first100Csv);
    } finally {
      await configured.close();
      await batch.close();
    }
  });
});

describe('cgi.parse_header', () => {
  it('splits the value from its parameters as Python does', () => {
    expect(parseHeader('text/csv; label_size=1; charset="utf-8"')).toEqual(['text/csv', { label_size: '1', charset: 'utf-8' }]);
    expect(parseHeader(' application/json ;q=0.5')).toEqual(['application/json', { q: '0.5' }]);
    expect(parseHeader('')).toEqual(['', {}]);
    expect(parseHeader('a; x="1;2"; y=3')).toEqual(['a', { x: '1;2', y: '3' }]);
  });
});

describe('response bodies', () => {
  it('writes one repr per line with a trailing newline, and json.dumps spacing', () => {
    expect(formatCsvResponse(new Float32Array([0.5, 1, 1e-5]))).toBe('0.5\n1.0\n9.999999747378752e-06\n');
    expect(formatJsonResponse([0.25, 1])).toBe('{"predictions": [{"score": 0.25}, {"score": 1.0}]}');
    expect(formatJsonResponse([])).toBe('{"predictions": []}');
  });

  const python = spawnSync(PYTHON, ['-c', 'import struct'], { encoding: 'utf8' }).status === 0;
  (python ? it : it.skip)("prints 20,000 random doubles exactly as Python's repr does", () => {
    const view = new DataView(new ArrayBuffer(8));
    let state = 0x2545f491;
    const values: number[] = [];
    while (values.length < 20_000) {
      for (let half = 0; half < 2; half += 1) {
        state ^= state << 13; state ^= state >>> 17; state ^= state << 5;
        view.setUint32(half * 4, state >>> 0);
      }
      const value = view.getFloat64(0);
      if (Number.isFinite(value)) values.push(values.length % 2 ? value : Math.fround(Math.abs(value) % 1));
    }
    const script = 'import struct,sys\nfor h in sys.stdin.read().split():\n    print(repr(struct.unpack(">d", bytes.fromhex(h))[0]))';
    const input = values.map((value) => { view.setFloat64(0, value); return view.getBigUint64(0).toString(16).padStart(16, '0'); }).join('\n');
    const run = spawnSync(PYTHON, ['-c', script], { input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    expect(run.status).toBe(0);
    const expected = run.stdout.trim().split('\n');
    const mismatches = values.map((value, index) => [pythonFloatRepr(value), expected[index]]).filter(([ours, theirs]) => ours !== theirs);
    expect(mismatches.slice(0, 5)).toEqual([]);
  });
});
