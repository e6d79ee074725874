import {
  InvokeEndpointCommand,
  ModelError,
  ModelNotReadyException,
  SageMakerRuntimeClient,
  SageMakerRuntimeServiceException,
  ServiceUnavailable,
  ValidationError,
} from '@aws-sdk/client-sagemaker-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { SageMakerEndpoint } from '../../handlers/adapters/sagemaker-endpoint';
import { endpointTimeoutFromEnv } from '../../handlers/predict';

const runtime = mockClient(SageMakerRuntimeClient);
const $metadata = {};
const ROW = '3,12,,40,5,17,0,22,0.375,0.2,,1';
const endpoint = (timeoutMs?: number) =>
  new SageMakerEndpoint(new SageMakerRuntimeClient({ region: 'us-east-1', maxAttempts: 1 }), {
    endpointName: 'deploy-guard-dev',
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
/** The container's text/csv answer body, as the SDK hands it over. */
const answer = (text: string) => ({ Body: new TextEncoder().encode(text) as never, ContentType: 'text/csv' });

beforeEach(() => runtime.reset());

describe('SageMakerEndpoint.invoke', () => {
  it('sends the row as text/csv, asks for text/csv, and reads the probability (Python repr, trailing newline)', async () => {
    runtime.on(InvokeEndpointCommand).resolves(answer('0.5383983850479126\n'));
    await expect(endpoint().invoke(ROW)).resolves.toEqual({ ok: true, probabilities: [0.5383983850479126] });
    expect(runtime).toHaveReceivedCommandTimes(InvokeEndpointCommand, 1);
    const input = runtime.commandCalls(InvokeEndpointCommand)[0].args[0].input;
    expect({ ...input, Body: Buffer.from(input.Body as Uint8Array).toString('utf8') }).toEqual({
      EndpointName: 'deploy-guard-dev',
      ContentType: 'text/csv',
      Accept: 'text/csv',
      Body: ROW,
    });
  });

  it('reads one probability per line for several rows, including 1.0 and 1e-05', async () => {
    runtime.on(InvokeEndpointCommand).resolves(answer('1.0\n1e-05\n0.25\n'));
    await expect(endpoint().invoke(`${ROW}\n${ROW}\n${ROW}\n`)).resolves.toEqual({ ok: true, probabilities: [1, 1e-5, 0.25] });
  });

  it.each([
    ['a number outside [0, 1]', '1.5\n', "answered '1.5' where a probability was expected"],
    ['not a number', 'nan\n', "answered 'nan' where a probability was expected"],
    ['JSON instead of CSV', '{"predictions":[{"score":0.4}]}', 'where a probability was expected'],
    ['two probabilities for one row', '0.1\n0.2\n', 'answered 2 probabilities for 1 rows'],
    ['an empty body', '', 'answered 0 probabilities for 1 rows'],
  ])('answers Error for a body with %s', async (_case, body, message) => {
    runtime.on(InvokeEndpointCommand).resolves(answer(body));
    const result = await endpoint().invoke(ROW);
    expect(result).toMatchObject({ ok: false, failure: 'Error' });
    expect(result.ok === false && result.message).toContain(message);
  });

  it.each([
    ['ModelError', 'ModelError', () => new ModelError({ message: 'Received client error (415) from primary', $metadata })],
    ['ThrottlingException', 'Throttled', () => new SageMakerRuntimeServiceException({ name: 'ThrottlingException', $fault: 'client', message: 'Rate exceeded', $metadata })],
    ['ServiceUnavailable', 'Unavailable', () => new ServiceUnavailable({ message: 'Service is unavailable', $metadata })],
    ['ModelNotReadyException', 'Unavailable', () => new ModelNotReadyException({ message: 'Model is not ready', $metadata })],
    [
      'ValidationError (endpoint not found)',
      'Unavailable',
      () => new ValidationError({ message: 'Endpoint deploy-guard-dev of account 123456789012 not found.', $metadata }),
    ],
    ['ValidationError (anything else)', 'Error', () => new ValidationError({ message: '1 validation error detected: Value at body', $metadata })],
    ['AccessDeniedException', 'Error', () => new SageMakerRuntimeServiceException({ name: 'AccessDeniedException', $fault: 'client', message: 'not authorized', $metadata })],
  ] as const)('never throws: %s becomes %s, with the endpoint named', async (_name, failure, error) => {
    runtime.on(InvokeEndpointCommand).rejects(error());
    const result = await endpoint().invoke(ROW);
    expect(result).toMatchObject({ ok: false, failure });
    expect(result.ok === false && result.message).toContain('deploy-guard-dev');
  });

  it('gives up after the timeout and answers Timeout, even when the SDK call would hang', async () => {
    runtime.on(InvokeEndpointCommand).callsFake(() => new Promise(() => undefined));
    const started = Date.now();
    await expect(endpoint(30).invoke(ROW)).resolves.toEqual({
      ok: false,
      failure: 'Timeout',
      message: 'endpoint deploy-guard-dev did not answer within 30 ms',
    });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('passes an abort signal that fires at the deadline, so the HTTP request is cancelled too', async () => {
    let signal: AbortSignal | undefined;
    const client = new SageMakerRuntimeClient({ region: 'us-east-1' });
    jest.spyOn(client, 'send').mockImplementation(((_command: unknown, options: { abortSignal: AbortSignal }) => {
      signal = options.abortSignal;
      return new Promise(() => undefined);
    }) as never);
    await new SageMakerEndpoint(client, { endpointName: 'deploy-guard-dev', timeoutMs: 20 }).invoke(ROW);
    expect(signal?.aborted).toBe(true);
  });

  it('refuses a timeout that is not a positive whole number', () => {
    expect(() => endpoint(0)).toThrow('endpoint timeout must be a positive whole number of milliseconds, got 0');
  });
});

describe('endpointTimeoutFromEnv', () => {
  it('defaults to 2000 ms and reads DEPLOY_GUARD_ENDPOINT_TIMEOUT_MS', () => {
    expect(endpointTimeoutFromEnv({})).toBe(2000);
    expect(endpointTimeoutFromEnv({ DEPLOY_GUARD_ENDPOINT_TIMEOUT_MS: '750' })).toBe(750);
    expect(() => endpointTimeoutFromEnv({ DEPLOY_GUARD_ENDPOINT_TIMEOUT_MS: '2s' })).toThrow(
      "DEPLOY_GUARD_ENDPOINT_TIMEOUT_MS is '2s': set it to a positive whole number of milliseconds",
    );
  });
});
