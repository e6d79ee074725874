import type { HandlerDefinition } from '../../handlers/declaration';
import { lambdaEntry } from '../../handlers/lambda-entry';

/**
 * The one Lambda entry (handlers/lambda-entry.ts): dependencies composed once per container from the
 * declared ports and the environment, the log keys of one invocation never carried into the next, a
 * refusal logged as a warning.
 */

interface FakeDependencies {
  readonly clock: { now(): number };
  readonly config: { readonly bus: string };
}
type FakeResult = { readonly status: 'done' | 'refused'; readonly seen: string };

function fakeDefinition(): HandlerDefinition<FakeDependencies, FakeResult> & { composed: number } {
  const definition = {
    composed: 0,
    declaration: { name: 'drift' as const, reads: ['eventBus' as const], needs: [], ports: ['clock' as const] },
    handle: async (event: unknown, dependencies: FakeDependencies): Promise<FakeResult> => ({
      status: (event as { refuse?: boolean }).refuse ? 'refused' : 'done',
      seen: `${dependencies.config.bus}@${dependencies.clock.now()}`,
    }),
    configFromEnv: (env: NodeJS.ProcessEnv) => ({ bus: env.DEPLOY_GUARD_EVENT_BUS ?? 'unset' }),
    awsPorts: () => {
      definition.composed += 1;
      return { clock: { now: () => 7 } };
    },
  };
  return definition;
}

const alarm = (alarmName: string) => ({ 'detail-type': 'CloudWatch Alarm State Change', detail: { alarmName } });

describe('lambdaEntry', () => {
  const environment = { ...process.env };
  let lines: Record<string, unknown>[];
  let streams: jest.SpyInstance[];
  beforeEach(() => {
    process.env.DEPLOY_GUARD_EVENT_BUS = 'deploy-guard-dev';
    lines = [];
    // The logger writes INFO to stdout, WARN to stderr.
    streams = [process.stdout, process.stderr].map((stream) =>
      jest.spyOn(stream, 'write').mockImplementation((line) => {
        lines.push(JSON.parse(String(line)) as Record<string, unknown>);
        return true;
      }),
    );
  });
  afterEach(() => {
    streams.forEach((stream) => stream.mockRestore());
    process.env = { ...environment };
  });

  it('composes the dependencies once per container, from the declared ports and the environment', async () => {
    const definition = fakeDefinition();
    const handler = lambdaEntry(definition);
    await expect(handler(alarm('deploy-guard-dev-model-brier'))).resolves.toEqual({ status: 'done', seen: 'deploy-guard-dev@7' });
    await handler(alarm('deploy-guard-dev-model-brier'));
    expect(definition.composed).toBe(1);
  });

  it("logs each result under the handler's name, and never carries one invocation's keys into the next", async () => {
    const handler = lambdaEntry(fakeDefinition());
    await handler(alarm('deploy-guard-dev-model-brier'));
    await handler({ detail: {} });
    expect(lines).toEqual([
      expect.objectContaining({ level: 'INFO', message: 'drift', handler: 'drift', correlationId: 'deploy-guard-dev-model-brier', status: 'done' }),
      expect.not.objectContaining({ correlationId: expect.anything() }),
    ]);
  });

  it('logs a refusal as a warning', async () => {
    await lambdaEntry(fakeDefinition())({ refuse: true, detail: { deploymentId: 'd-ABCDEF123' } });
    expect(lines).toEqual([expect.objectContaining({ level: 'WARN', message: 'drift refused', correlationId: 'd-ABCDEF123', deploymentId: 'd-ABCDEF123' })]);
  });
});
