import { correlationIdOf, HandlerLogger, logThreshold, xrayTraceId } from '../../handlers/observability';

/**
 * The handlers' structured logs (handlers/observability.ts): one JSON line per record in the fields
 * of AWS Lambda Powertools' logger, so that queries written for it keep working.
 */

function capture(env: NodeJS.ProcessEnv = {}) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const logger = new HandlerLogger({
    persistentKeys: { handler: 'predict' },
    env,
    streams: { stdout: { write: (line: string) => stdout.push(line) }, stderr: { write: (line: string) => stderr.push(line) } },
    now: () => new Date('2026-12-02T10:00:00.000Z'),
  });
  return { logger, stdout, stderr };
}

const TRACE = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';

describe('HandlerLogger', () => {
  it("writes Powertools' line: level, message, timestamp, service, sampling rate, X-Ray trace, then the handler's and the invocation's keys", () => {
    const { logger, stdout } = capture({ _X_AMZN_TRACE_ID: TRACE });
    logger.appendKeys({ correlationId: 'd-ABCDEF123' });
    logger.info('predict', { status: 'assessed', probability: 0.42 });
    expect(stdout).toEqual([
      '{"level":"INFO","message":"predict","timestamp":"2026-12-02T10:00:00.000Z","service":"deploy-guard","sampling_rate":0,' +
        '"xray_trace_id":"1-5759e988-bd862e3fe1be46a994272793","handler":"predict","correlationId":"d-ABCDEF123","status":"assessed","probability":0.42}\n',
    ]);
  });

  it('writes INFO to stdout and WARN to stderr, without a trace id outside Lambda', () => {
    const { logger, stdout, stderr } = capture();
    logger.info('predict');
    logger.warn('predict refused', { status: 'refused' });
    expect(stdout.map((line) => JSON.parse(line) as unknown)).toEqual([expect.not.objectContaining({ xray_trace_id: expect.anything() })]);
    expect(stderr.map((line) => JSON.parse(line) as unknown)).toEqual([expect.objectContaining({ level: 'WARN', message: 'predict refused', status: 'refused' })]);
  });

  it('forgets the keys appended for one invocation on resetKeys, and keeps the persistent ones', () => {
    const { logger, stdout } = capture();
    logger.appendKeys({ correlationId: 'd-1', deploymentId: 'd-1' });
    logger.resetKeys();
    logger.info('predict');
    const line = JSON.parse(stdout[0]) as Record<string, unknown>;
    expect(line).toEqual(expect.objectContaining({ handler: 'predict' }));
    expect(Object.keys(line)).not.toEqual(expect.arrayContaining(['correlationId']));
  });

  it('takes the level Powertools would: POWERTOOLS_LOG_LEVEL, then LOG_LEVEL, then AWS_LAMBDA_LOG_LEVEL, INFO otherwise', () => {
    expect(logThreshold({})).toBe(12);
    expect(logThreshold({ AWS_LAMBDA_LOG_LEVEL: 'WARN' })).toBe(16);
    expect(logThreshold({ LOG_LEVEL: 'error', AWS_LAMBDA_LOG_LEVEL: 'DEBUG' })).toBe(20);
    expect(logThreshold({ POWERTOOLS_LOG_LEVEL: 'DEBUG', LOG_LEVEL: 'ERROR' })).toBe(8);
    expect(logThreshold({ POWERTOOLS_LOG_LEVEL: 'LOUD' })).toBe(12);
    const { logger, stdout, stderr } = capture({ POWERTOOLS_LOG_LEVEL: 'WARN' });
    logger.info('not written');
    logger.warn('written');
    expect([stdout.length, stderr.length]).toEqual([0, 1]);
  });

  it("reads the X-Ray trace id from Lambda's _X_AMZN_TRACE_ID", () => {
    expect(xrayTraceId({ _X_AMZN_TRACE_ID: TRACE })).toBe('1-5759e988-bd862e3fe1be46a994272793');
    expect(xrayTraceId({ _X_AMZN_TRACE_ID: 'Parent=53995c3f42cd8ad8' })).toBeUndefined();
  });

  it('writes what JSON cannot hold as it can: an error by name, message and stack, a bigint as text, a cycle as [Circular]; a shared object twice', () => {
    const { logger, stdout } = capture();
    const cycle: Record<string, unknown> = { name: 'loop' };
    cycle.self = cycle;
    const shared = { id: 1 };
    logger.info('predict', { error: new TypeError('bad row'), rows: 12n, cycle, first: shared, second: shared });
    const line = JSON.parse(stdout[0]) as Record<string, unknown>;
    expect(line.error).toEqual({ name: 'TypeError', message: 'bad row', stack: expect.stringContaining('TypeError: bad row') });
    expect(line.rows).toBe('12');
    expect(line.cycle).toEqual({ name: 'loop', self: '[Circular]' });
    expect([line.first, line.second]).toEqual([{ id: 1 }, { id: 1 }]);
  });
});

describe('correlationIdOf', () => {
  it('is the deployment, training job or alarm an event is about', () => {
    expect(correlationIdOf({ detail: { deploymentId: 'd-1' } })).toBe('d-1');
    expect(correlationIdOf({ detail: { TrainingJobName: 'deploy-guard-dev-1' } })).toBe('deploy-guard-dev-1');
    expect(correlationIdOf({ DeploymentId: 'd-2', LifecycleEventHookExecutionId: 'x' })).toBe('d-2');
  });
});
