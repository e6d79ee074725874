/**
 * A local stand-in for a SageMaker endpoint running the built-in XGBoost container
 * (sagemaker-xgboost 1.7-1, algorithm mode, single model), scoring with the exact scorer.
 *
 * The protocol follows aws/sagemaker-xgboost-container: `serving.py` (`serving_entrypoint` starts
 * gunicorn on the Flask app of `algorithm_mode/serve.py` unless the endpoint is multi-model) and
 * `algorithm_mode/serve.py` (`ping`, `execution_parameters`, `invocations`, `_parse_accept`), with
 * `algorithm_mode/serve_utils.py` (`parse_content_data`, `predict`, `encode_predictions_as_json`),
 * `data_utils.py` (`get_content_type`) and `encoder.py` (`csv_to_dmatrix`). `POST /invocations`:
 * 1. an empty body → 204, empty;
 * 2. the Content-Type is read with `cgi.parse_header(value.lower())`: `text/csv` (or `csv`, with an
 *    optional `label_size=1`) is parsed; an unknown type → 415 "<type> is not an accepted
 *    ContentType: csv, libsvm, ..."; a body that does not parse → 415 "Loading csv data failed with
 *    Exception, please ensure data is in csv format:\n <class '...'>\n <message>";
 * 3. XGBoost predicts; more columns than the model's features → 400 "Unable to evaluate payload
 *    provided: ..." (fewer columns are scored with the rest missing);
 * 4. only then is Accept checked (`cgi.parse_header`, no q-value negotiation): absent or `*∕*` means
 *    SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT (default text/csv); anything outside application/json,
 *    application/jsonlines, application/x-recordio-protobuf, text/csv → 406 "Accept type <accept> is
 *    not supported. Please use supported accept types: [...]";
 * 5. text/csv → one probability per line; application/json → {"predictions": [{"score": p}, ...]};
 *    jsonlines and recordio-protobuf pass the Accept check but have no encoder in
 *    sagemaker-containers, so Flask answers 500.
 * Error bodies are `str(exception)` with Flask's default text/html content type.
 *
 * Deliberate differences: libsvm, recordio-protobuf and parquet request bodies (which the container
 * parses) get 415 with a message saying this stand-in scores text/csv only — as does a request with
 * no Content-Type, which the container would read as libsvm; XGBoost's own error text (timestamps,
 * source lines, stack traces) is not reproduced, only its check message; selectable inference
 * (SAGEMAKER_INFERENCE_OUTPUT) is not implemented.
 */
import http from 'node:http';
import { AddressInfo } from 'node:net';
import os from 'node:os';
import { CsvParseError, FeatureCountError, XGBoostModel, scoreCsv } from './xgboost';
import { formatCsvResponse, formatJsonResponse, pythonFloatRepr } from './serving-format';

export interface ServerSettings {
  /** SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT: the answer type when Accept is absent or `*∕*`. Default text/csv. */
  readonly defaultAccept?: string;
  /** MAX_CONTENT_LENGTH in bytes (Flask answers 413 above it). Default 6 MiB. */
  readonly maxContentLength?: number;
  /** SAGEMAKER_BATCH (batch transform): answer `str(p)` per line whatever the Accept type. */
  readonly batch?: boolean;
}

export interface ServeOptions extends ServerSettings {
  readonly model: XGBoostModel;
  /** Default 8080, the container's port; 0 picks a free one. */
  readonly port?: number;
  /** Default 127.0.0.1 (the container binds 0.0.0.0). */
  readonly host?: string;
  /** One line per request, for a log. */
  readonly log?: (line: string) => void;
}

export interface RunningServer {
  readonly port: number;
  readonly host: string;
  readonly url: string;
  close(): Promise<void>;
}

export interface InvocationRequest {
  readonly body: Uint8Array;
  /** The raw Content-Type header, if any. */
  readonly contentType?: string;
  /** The raw Accept header, if any. */
  readonly accept?: string;
}

export interface EndpointResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

export const DEFAULT_MAX_CONTENT_LENGTH = 6 * 1024 * 1024;
const HTML = 'text/html; charset=utf-8';

// data_utils.VALID_CONTENT_TYPES, in the order the container lists them in its error message.
const ACCEPTED_CONTENT_TYPES = [
  'csv', 'libsvm', 'parquet', 'recordio-protobuf', 'text/csv', 'text/libsvm', 'text/x-libsvm',
  'application/x-parquet', 'application/x-recordio-protobuf',
];
const CSV_TYPES = new Set(['csv', 'text/csv']);
const SUPPORTED_ACCEPTS = ['application/json', 'application/jsonlines', 'application/x-recordio-protobuf', 'text/csv'];

/** Python's `cgi.parse_header`: the value before the first `;`, and the `name=value` parameters. */
export function parseHeader(line: string): [string, Record<string, string>] {
  const parts: string[] = [];
  let rest = `;${line}`;
  while (rest.startsWith(';')) {
    rest = rest.slice(1);
    let end = rest.indexOf(';');
    // A ';' inside a quoted parameter value does not end it.
    while (end > 0 && (countOf(rest, '"', end) - countOf(rest, '\\"', end)) % 2 === 1) end = rest.indexOf(';', end + 1);
    if (end < 0) end = rest.length;
    parts.push(rest.slice(0, end).trim());
    rest = rest.slice(end);
  }
  const params: Record<string, string> = {};
  for (const part of parts.slice(1)) {
    const equals = part.indexOf('=');
    if (equals < 0) continue;
    let value = part.slice(equals + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1).replace(/\\\\/g, '\\').replace(/\\"/g, '"');
    params[part.slice(0, equals).trim().toLowerCase()] = value;
  }
  return [parts[0], params];
}

function countOf(text: string, needle: string, end: number): number {
  let count = 0;
  for (let at = text.indexOf(needle); at >= 0 && at < end; at = text.indexOf(needle, at + 1)) count += 1;
  return count;
}

function plain(status: number, body: string): EndpointResponse {
  return { status, contentType: HTML, body };
}

/** Werkzeug 0.15's HTML page for an HTTP error, as Flask sends it. */
function werkzeugError(status: number, name: string, description: string): EndpointResponse {
  return plain(status, `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n<title>${status} ${name}</title>\n<h1>${name}</h1>\n<p>${description}</p>\n`);
}

const INTERNAL_SERVER_ERROR = werkzeugError(500, 'Internal Server Error', 'The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.');

/** `POST /invocations`, as the container answers it (see the module comment). */
export function handleInvocation(model: XGBoostModel, request: InvocationRequest, settings: ServerSettings = {}): EndpointResponse {
  if (request.body.length === 0) return plain(204, '');

  // serve_utils.parse_content_data → data_utils.get_content_type; failures are 415 with str(e).
  if (request.contentType === undefined) {
    return plain(415, 'Content-Type None: the container would read this body as libsvm; this local stand-in scores text/csv only.');
  }
  const [mediaType, params] = parseHeader(request.contentType.toLowerCase());
  if (CSV_TYPES.has(mediaType)) {
    if ('label_size' in params && params.label_size !== '1') {
      return plain(415, `${request.contentType} is not an accepted csv ContentType. Optional parameter label_size must be equal to 1`);
    }
  } else if (ACCEPTED_CONTENT_TYPES.includes(mediaType)) {
    return plain(415, `Content-type ${request.contentType} is accepted by sagemaker-xgboost but not by this local stand-in, which scores text/csv only.`);
  } else {
    return plain(415, `${request.contentType} is not an accepted ContentType: ${ACCEPTED_CONTENT_TYPES.join(', ')}.`);
  }

  let probabilities: Float32Array;
  try {
    probabilities = scoreCsv(model, request.body);
  } catch (error) {
    if (error instanceof CsvParseError) {
      return plain(415, `Loading csv data failed with Exception, please ensure data is in csv format:\n ${error.pythonType}\n ${error.pythonMessage}`);
    }
    if (error instanceof FeatureCountError) return plain(400, `Unable to evaluate payload provided: ${error.message}`);
    throw error;
  }

  // _parse_accept runs after prediction: a bad Accept costs the prediction, as in the container.
  const [acceptType] = parseHeader(request.accept ?? '');
  let accept: string;
  if (acceptType === '' || acceptType === '*/*') {
    accept = settings.defaultAccept ?? 'text/csv';
  } else if (SUPPORTED_ACCEPTS.includes(acceptType.toLowerCase())) {
    accept = acceptType.toLowerCase();
  } else {
    return plain(406, `Accept type ${acceptType} is not supported. Please use supported accept types: [${SUPPORTED_ACCEPTS.map((type) => `'${type}'`).join(', ')}].`);
  }
  const mimetype = accept.startsWith('text/') ? `${accept}; charset=utf-8` : accept;
  if (settings.batch) {
    let body = '';
    for (const probability of probabilities) body += `${pythonFloatRepr(probability)}\n`;
    return { status: 200, contentType: mimetype, body };
  }
  if (accept === 'application/json') return { status: 200, contentType: mimetype, body: formatJsonResponse(probabilities) };
  if (accept === 'text/csv') return { status: 200, contentType: mimetype, body: formatCsvResponse(probabilities) };
  // sagemaker_containers.encoders has no encoder for the other accepted types: UnsupportedFormatError, uncaught.
  return INTERNAL_SERVER_ERROR;
}

/** Every request of the endpoint's HTTP surface: /ping, /execution-parameters, /invocations. */
export function handleRequest(model: XGBoostModel, method: string, path: string, request: InvocationRequest, settings: ServerSettings = {}): EndpointResponse {
  const route = ROUTES[path];
  if (!route) return werkzeugError(404, 'Not Found', 'The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.');
  if (method === 'OPTIONS') return { status: 200, contentType: HTML, body: '' };
  if (!route.methods.includes(method)) return werkzeugError(405, 'Method Not Allowed', 'The method is not allowed for the requested URL.');
  if (path === '/ping') return plain(200, '');
  if (path === '/execution-parameters') {
    const maxPayloadInMB = Math.trunc((settings.maxContentLength ?? DEFAULT_MAX_CONTENT_LENGTH) / 1024 ** 2);
    return { status: 200, contentType: 'application/json', body: `{"MaxConcurrentTransforms": ${os.cpus().length}, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": ${maxPayloadInMB}}` };
  }
  return handleInvocation(model, request, settings);
}

const ROUTES: Record<string, { methods: string[] }> = {
  '/ping': { methods: ['GET', 'HEAD'] },
  '/execution-parameters': { methods: ['GET', 'HEAD'] },
  '/invocations': { methods: ['POST'] },
};

const TOO_LARGE = werkzeugError(413, 'Request Entity Too Large', 'The data value transmitted exceeds the capacity limit.');

/** Starts the endpoint stand-in on node:http; resolves once it listens. */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const { model, log } = options;
  const maxContentLength = options.maxContentLength ?? DEFAULT_MAX_CONTENT_LENGTH;
  const settings: ServerSettings = { ...options, maxContentLength };
  const server = http.createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const send = (answer: EndpointResponse) => {
      const body = request.method === 'HEAD' || answer.status === 204 ? '' : answer.body;
      response.writeHead(answer.status, { 'Content-Type': answer.contentType, 'Content-Length': Buffer.byteLength(body) });
      response.end(body);
      log?.(`${request.method} ${path} ${answer.status}`);
    };
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > maxContentLength) {
      send(TOO_LARGE);
      request.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let received = 0;
    let tooLarge = false;
    request.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxContentLength) tooLarge = true;
      else chunks.push(chunk);
    });
    request.on('end', () => {
      if (tooLarge) return send(TOO_LARGE);
      try {
        send(handleRequest(model, request.method ?? 'GET', path, {
          body: Buffer.concat(chunks),
          contentType: request.headers['content-type'],
          accept: request.headers.accept,
        }, settings));
      } catch (error) {
        log?.(`${request.method} ${path} failed: ${error instanceof Error ? error.stack : String(error)}`);
        send(INTERNAL_SERVER_ERROR);
      }
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    host,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () => new Promise<void>((resolve, reject) => {
      server.close((error) => (error ? reject(error) : resolve()));
      server.closeAllConnections();
    }),
  };
}
