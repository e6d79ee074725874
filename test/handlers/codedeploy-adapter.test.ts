import {
  CodeDeployClient,
  ContinueDeploymentCommand,
  DeploymentAlreadyCompletedException,
  DeploymentDoesNotExistException,
  DeploymentIsNotInReadyStateException,
  GetDeploymentCommand,
  InvalidRoleException,
  LifecycleEventAlreadyCompletedException,
  PutLifecycleEventHookExecutionStatusCommand,
  StopDeploymentCommand,
} from '@aws-sdk/client-codedeploy';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { AwsCodeDeploy } from '../../handlers/adapters/codedeploy';

const codeDeploy = mockClient(CodeDeployClient);
const adapter = () => new AwsCodeDeploy(new CodeDeployClient({ region: 'us-east-1' }));
const $metadata = {};
const deploymentId = 'd-123456789';

beforeEach(() => codeDeploy.reset());

describe('AwsCodeDeploy.getDeployment', () => {
  it('reads status, platform, creator, application and group', async () => {
    codeDeploy.on(GetDeploymentCommand).resolves({
      deploymentInfo: {
        deploymentId,
        status: 'Ready',
        computePlatform: 'Server',
        creator: 'user',
        applicationName: 'myApplication',
        deploymentGroupName: 'myDeploymentGroup',
      },
    });
    await expect(adapter().getDeployment(deploymentId)).resolves.toEqual({
      found: true,
      deployment: {
        deploymentId,
        status: 'Ready',
        computePlatform: 'Server',
        creator: 'user',
        application: 'myApplication',
        deploymentGroup: 'myDeploymentGroup',
      },
    });
    expect(codeDeploy).toHaveReceivedCommandWith(GetDeploymentCommand, { deploymentId });
  });

  it('reports a deployment that does not exist as not found', async () => {
    codeDeploy.on(GetDeploymentCommand).rejects(new DeploymentDoesNotExistException({ message: 'The deployment d-123456789 does not exist.', $metadata }));
    await expect(adapter().getDeployment(deploymentId)).resolves.toEqual({ found: false, message: 'The deployment d-123456789 does not exist.' });
  });

  it('refuses an answer without a known status, naming the deployment and the field', async () => {
    codeDeploy.on(GetDeploymentCommand).resolves({ deploymentInfo: { deploymentId, computePlatform: 'ECS' } });
    await expect(adapter().getDeployment(deploymentId)).rejects.toThrow('GetDeployment for d-123456789 returned status undefined');
  });
});

describe('AwsCodeDeploy.stopDeployment', () => {
  it('sends StopDeployment with auto-rollback', async () => {
    codeDeploy.on(StopDeploymentCommand).resolves({ status: 'Pending' });
    await expect(adapter().stopDeployment(deploymentId, { autoRollbackEnabled: true })).resolves.toEqual({ ok: true });
    expect(codeDeploy).toHaveReceivedCommandTimes(StopDeploymentCommand, 1);
    expect(codeDeploy).toHaveReceivedCommandWith(StopDeploymentCommand, { deploymentId, autoRollbackEnabled: true });
  });

  it('reports a deployment that already succeeded or failed as DeploymentAlreadyCompleted', async () => {
    codeDeploy.on(StopDeploymentCommand).rejects(new DeploymentAlreadyCompletedException({ message: 'The deployment is already complete.', $metadata }));
    codeDeploy.on(GetDeploymentCommand).resolves({ deploymentInfo: { deploymentId, status: 'Succeeded', computePlatform: 'Server' } });
    await expect(adapter().stopDeployment(deploymentId, { autoRollbackEnabled: true })).resolves.toEqual({
      ok: false,
      refusal: 'DeploymentAlreadyCompleted',
      message: 'The deployment is already complete.',
    });
  });

  it('tells an already stopped deployment apart from a completed one (CodeDeploy answers the same exception)', async () => {
    codeDeploy.on(StopDeploymentCommand).rejects(new DeploymentAlreadyCompletedException({ message: 'The deployment is already complete.', $metadata }));
    codeDeploy.on(GetDeploymentCommand).resolves({ deploymentInfo: { deploymentId, status: 'Stopped', computePlatform: 'Server' } });
    await expect(adapter().stopDeployment(deploymentId, { autoRollbackEnabled: true })).resolves.toMatchObject({
      ok: false,
      refusal: 'DeploymentAlreadyStopped',
    });
  });

  it('reports a deployment that does not exist as DeploymentNotFound', async () => {
    codeDeploy.on(StopDeploymentCommand).rejects(new DeploymentDoesNotExistException({ message: 'no such deployment', $metadata }));
    await expect(adapter().stopDeployment(deploymentId, { autoRollbackEnabled: true })).resolves.toEqual({
      ok: false,
      refusal: 'DeploymentNotFound',
      message: 'no such deployment',
    });
    expect(codeDeploy).not.toHaveReceivedCommand(GetDeploymentCommand);
  });

  it('throws what is not a race', async () => {
    codeDeploy.on(StopDeploymentCommand).rejects(new InvalidRoleException({ message: 'role cannot be assumed', $metadata }));
    await expect(adapter().stopDeployment(deploymentId, { autoRollbackEnabled: true })).rejects.toThrow('role cannot be assumed');
  });
});

describe('AwsCodeDeploy.continueDeployment', () => {
  it('sends ContinueDeployment for the READY wait', async () => {
    codeDeploy.on(ContinueDeploymentCommand).resolves({});
    await expect(adapter().continueDeployment(deploymentId)).resolves.toEqual({ ok: true });
    expect(codeDeploy).toHaveReceivedCommandWith(ContinueDeploymentCommand, { deploymentId, deploymentWaitType: 'READY_WAIT' });
  });

  it.each([
    [new DeploymentAlreadyCompletedException({ message: 'done', $metadata }), 'DeploymentAlreadyCompleted'],
    [new DeploymentIsNotInReadyStateException({ message: 'not ready', $metadata }), 'DeploymentNotReady'],
    [new DeploymentDoesNotExistException({ message: 'gone', $metadata }), 'DeploymentNotFound'],
  ])('maps %p to the refusal %s', async (error, refusal) => {
    codeDeploy.on(ContinueDeploymentCommand).rejects(error);
    await expect(adapter().continueDeployment(deploymentId)).resolves.toEqual({ ok: false, refusal, message: error.message });
  });
});

describe('AwsCodeDeploy.putLifecycleEventHookExecutionStatus', () => {
  it('reports the hook execution status', async () => {
    codeDeploy.on(PutLifecycleEventHookExecutionStatusCommand).resolves({ lifecycleEventHookExecutionId: 'hook-1' });
    await expect(adapter().putLifecycleEventHookExecutionStatus(deploymentId, 'hook-1', 'Failed')).resolves.toEqual({ ok: true });
    expect(codeDeploy).toHaveReceivedCommandWith(PutLifecycleEventHookExecutionStatusCommand, {
      deploymentId,
      lifecycleEventHookExecutionId: 'hook-1',
      status: 'Failed',
    });
  });

  it('reports a hook that already completed (timed out or answered) as HookExpired', async () => {
    codeDeploy
      .on(PutLifecycleEventHookExecutionStatusCommand)
      .rejects(new LifecycleEventAlreadyCompletedException({ message: 'The lifecycle event is already completed.', $metadata }));
    await expect(adapter().putLifecycleEventHookExecutionStatus(deploymentId, 'hook-1', 'Failed')).resolves.toEqual({
      ok: false,
      refusal: 'HookExpired',
      message: 'The lifecycle event is already completed.',
    });
  });
});
