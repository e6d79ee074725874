import { CODEDEPLOY_DEPLOYMENT_STATE_CHANGE, CODEDEPLOY_SOURCE, type CodeDeployDeploymentState } from '../events/aws';
import { eventBridgeTime, type Clock } from '../events/clock';
import type { ComputePlatform, Revision } from '../events/emitted';
import type { CodeDeployOutcome, CodeDeployPort, DeploymentLookup, DeploymentStatus } from '../handlers/ports';

/**
 * CodeDeploy on the laptop: deployments created by the backtest, the calls the handlers make
 * (GetDeployment, StopDeployment, ContinueDeployment, PutLifecycleEventHookExecutionStatus) with
 * CodeDeploy's refusals, and the Deployment State-change events CodeDeploy would send, in the shape
 * of the real sample (events/samples/codedeploy-deployment-state-change.success.json).
 */

export interface LocalDeployment {
  readonly deploymentId: string;
  readonly application: string;
  readonly deploymentGroup: string;
  readonly platform: ComputePlatform;
  readonly revision: Revision;
  readonly createTime: number;
  readonly creator: string;
  status: DeploymentStatus;
  /** Who or what stopped it, when stopped. */
  stoppedBy?: 'StopDeployment' | 'LifecycleHookFailed';
  /** Whether Deploy Guard let it proceed at READY (ContinueDeployment) or its hook Succeeded. */
  continued?: boolean;
  /** The status its BeforeAllowTraffic hook was given: CodeDeploy takes one, and refuses any after it. */
  hookStatus?: 'Succeeded' | 'Failed';
  /** ECS / Lambda: each lifecycle hook CodeDeploy invoked, by event: its execution id and the one status it took. */
  readonly hooks: Partial<Record<LifecycleHookEvent, { readonly executionId: string; status?: 'Succeeded' | 'Failed' }>>;
  /** The outcome it reached while its AfterAllowTraffic hook was unanswered: it ends when the hook is answered Succeeded. */
  pendingFailed?: boolean;
}

/** The lifecycle hooks of an ECS / Lambda deployment that a Deploy Guard function answers. */
export type LifecycleHookEvent = 'BeforeAllowTraffic' | 'AfterAllowTraffic';

export interface LocalCodeDeployOptions {
  readonly clock: Clock;
  readonly account: string;
  readonly region: string;
  /** Receives every CodeDeploy event, to be put on the default bus. */
  readonly emit: (event: Record<string, unknown>) => void;
  /** Counts the calls, so tests and the report can reconcile. */
  readonly onCall?: (call: { readonly api: string; readonly deploymentId: string; readonly accepted: boolean }) => void;
}

/** One call that changes a deployment, and whether CodeDeploy accepted it. */
export interface LocalCodeDeployCall {
  readonly api: 'StopDeployment' | 'ContinueDeployment' | 'PutLifecycleEventHookExecutionStatus';
  readonly deploymentId: string;
  readonly accepted: boolean;
}

export class LocalCodeDeploy implements CodeDeployPort {
  private readonly deployments = new Map<string, LocalDeployment>();
  private sequence = 0;
  private readonly log: LocalCodeDeployCall[] = [];
  readonly calls = { StopDeployment: 0, ContinueDeployment: 0, PutLifecycleEventHookExecutionStatus: 0, GetDeployment: 0 };

  constructor(private readonly options: LocalCodeDeployOptions) {}

  /** Every StopDeployment, ContinueDeployment and PutLifecycleEventHookExecutionStatus call so far, in order. */
  get callLog(): readonly LocalCodeDeployCall[] {
    return this.log;
  }

  /** CreateDeployment: the deployment starts now (InProgress) and CodeDeploy announces START. */
  createDeployment(input: { readonly application: string; readonly deploymentGroup: string; readonly platform: ComputePlatform; readonly revision: Revision; readonly creator?: string }): LocalDeployment {
    this.sequence += 1;
    const deploymentId = `d-${this.sequence.toString(36).toUpperCase().padStart(9, '0')}`;
    const deployment: LocalDeployment = {
      deploymentId,
      application: input.application,
      deploymentGroup: input.deploymentGroup,
      platform: input.platform,
      revision: input.revision,
      createTime: this.options.clock.now(),
      creator: input.creator ?? 'user',
      status: 'InProgress',
      hooks: {},
    };
    this.deployments.set(deploymentId, deployment);
    this.announce(deployment, 'START');
    return deployment;
  }

  /** An EC2 blue/green deployment whose replacement fleet is ready: it waits at READY (Ready) and CodeDeploy announces READY. */
  reachReady(deploymentId: string): void {
    const deployment = this.require(deploymentId);
    if (deployment.status !== 'InProgress') return;
    deployment.status = 'Ready';
    this.announce(deployment, 'READY');
  }

  /**
   * CodeDeploy invokes a lifecycle hook of an ECS / Lambda deployment: the invocation it sends the
   * hook's function (BeforeAllowTraffic before the traffic moves; AfterAllowTraffic once it has, only
   * after BeforeAllowTraffic Succeeded). Undefined when the deployment does not reach that hook.
   */
  invokeHook(deploymentId: string, event: LifecycleHookEvent): { readonly DeploymentId: string; readonly LifecycleEventHookExecutionId: string } | undefined {
    const deployment = this.require(deploymentId);
    if (deployment.status !== 'InProgress' || deployment.hooks[event]) return undefined;
    if (event === 'AfterAllowTraffic' && deployment.hooks.BeforeAllowTraffic?.status !== 'Succeeded') return undefined;
    const executionId = `${event === 'BeforeAllowTraffic' ? 'hook' : 'after-hook'}-${deploymentId}`;
    deployment.hooks[event] = { executionId };
    return { DeploymentId: deploymentId, LifecycleEventHookExecutionId: executionId };
  }

  /**
   * The deployment runs to its end with the given real outcome, unless it was stopped (then STOP was
   * already announced). A gate deployment still waiting at READY when its wait time ends is stopped by
   * CodeDeploy (`action_on_timeout = STOP_DEPLOYMENT`). One whose AfterAllowTraffic hook has not been
   * answered waits for it: CodeDeploy completes a deployment only after its last hook.
   */
  finish(deploymentId: string, failed: boolean): void {
    const deployment = this.require(deploymentId);
    if (deployment.status === 'Stopped' || deployment.status === 'Succeeded' || deployment.status === 'Failed') return;
    const after = deployment.hooks.AfterAllowTraffic;
    if (after && after.status === undefined) {
      deployment.pendingFailed = failed;
      return;
    }
    deployment.status = failed ? 'Failed' : 'Succeeded';
    this.announce(deployment, failed ? 'FAILURE' : 'SUCCESS');
  }

  /** The READY wait ran out with nobody continuing: CodeDeploy stops the deployment itself. */
  timeOutAtReady(deploymentId: string): void {
    const deployment = this.require(deploymentId);
    if (deployment.status !== 'Ready' || deployment.continued) return;
    deployment.status = 'Stopped';
    this.announce(deployment, 'STOP');
  }

  /** A hook nobody answered in its hour: CodeDeploy fails the lifecycle event, and with it the deployment. */
  timeOutHook(deploymentId: string, event: LifecycleHookEvent): void {
    const deployment = this.require(deploymentId);
    const hook = deployment.hooks[event];
    if (!hook || hook.status !== undefined || deployment.status !== 'InProgress') return;
    hook.status = 'Failed';
    deployment.status = 'Failed';
    this.announce(deployment, 'FAILURE');
  }

  deployment(deploymentId: string): LocalDeployment | undefined {
    return this.deployments.get(deploymentId);
  }

  async getDeployment(deploymentId: string): Promise<DeploymentLookup> {
    this.calls.GetDeployment += 1;
    const deployment = this.deployments.get(deploymentId);
    if (!deployment) return { found: false, message: `Deployment ${deploymentId} does not exist.` };
    return {
      found: true,
      deployment: {
        deploymentId,
        status: deployment.status,
        computePlatform: deployment.platform,
        creator: deployment.creator,
        application: deployment.application,
        deploymentGroup: deployment.deploymentGroup,
        revision: deployment.revision,
        createTime: deployment.createTime,
      },
    };
  }

  async stopDeployment(deploymentId: string): Promise<CodeDeployOutcome> {
    this.calls.StopDeployment += 1;
    const deployment = this.deployments.get(deploymentId);
    const refusal = this.refusal(deploymentId, deployment);
    this.record({ api: 'StopDeployment', deploymentId, accepted: !refusal });
    if (refusal) return refusal;
    deployment!.status = 'Stopped';
    deployment!.stoppedBy = 'StopDeployment';
    this.announce(deployment!, 'STOP');
    return { ok: true };
  }

  async continueDeployment(deploymentId: string): Promise<CodeDeployOutcome> {
    this.calls.ContinueDeployment += 1;
    const deployment = this.deployments.get(deploymentId);
    const refusal =
      this.refusal(deploymentId, deployment) ??
      (deployment!.status === 'Ready' ? undefined : ({ ok: false, refusal: 'DeploymentNotReady', message: `The deployment ${deploymentId} is not waiting at READY.` } as const));
    this.record({ api: 'ContinueDeployment', deploymentId, accepted: !refusal });
    if (refusal) return refusal;
    deployment!.continued = true;
    deployment!.status = 'InProgress';
    return { ok: true };
  }

  /**
   * One status per hook execution, refused after it. An execution id CodeDeploy did not hand out
   * through invokeHook (a test invoking the hook's handler directly) is taken as BeforeAllowTraffic's.
   */
  async putLifecycleEventHookExecutionStatus(deploymentId: string, hookExecutionId: string, status: 'Succeeded' | 'Failed'): Promise<CodeDeployOutcome> {
    this.calls.PutLifecycleEventHookExecutionStatus += 1;
    const deployment = this.deployments.get(deploymentId);
    const event: LifecycleHookEvent = deployment?.hooks.AfterAllowTraffic?.executionId === hookExecutionId ? 'AfterAllowTraffic' : 'BeforeAllowTraffic';
    const hook = deployment ? (deployment.hooks[event] ??= { executionId: hookExecutionId }) : undefined;
    const refusal = hook?.status
      ? ({ ok: false, refusal: 'HookExpired', message: 'The lifecycle event is already completed.' } as const)
      : this.refusal(deploymentId, deployment);
    this.record({ api: 'PutLifecycleEventHookExecutionStatus', deploymentId, accepted: !refusal });
    if (refusal) return refusal;
    hook!.status = status;
    if (event === 'BeforeAllowTraffic') deployment!.hookStatus = status;
    if (status === 'Succeeded') {
      deployment!.continued = true;
      if (event === 'AfterAllowTraffic' && deployment!.pendingFailed !== undefined) this.finish(deploymentId, deployment!.pendingFailed);
      return { ok: true };
    }
    // A failed hook rolls the deployment back: CodeDeploy reports it as stopped.
    deployment!.status = 'Stopped';
    deployment!.stoppedBy = 'LifecycleHookFailed';
    this.announce(deployment!, 'STOP');
    return { ok: true };
  }

  private record(call: LocalCodeDeployCall): void {
    this.log.push(call);
    this.options.onCall?.(call);
  }

  private refusal(deploymentId: string, deployment: LocalDeployment | undefined): CodeDeployOutcome | undefined {
    if (!deployment) return { ok: false, refusal: 'DeploymentNotFound', message: `Deployment ${deploymentId} does not exist.` };
    if (deployment.status === 'Stopped') return { ok: false, refusal: 'DeploymentAlreadyStopped', message: `The deployment ${deploymentId} is already stopped.` };
    if (deployment.status === 'Succeeded' || deployment.status === 'Failed') {
      return { ok: false, refusal: 'DeploymentAlreadyCompleted', message: `The deployment ${deploymentId} is already completed.` };
    }
    return undefined;
  }

  private require(deploymentId: string): LocalDeployment {
    const deployment = this.deployments.get(deploymentId);
    if (!deployment) throw new Error(`local CodeDeploy has no deployment ${deploymentId}`);
    return deployment;
  }

  private announce(deployment: LocalDeployment, state: CodeDeployDeploymentState): void {
    const { account, region } = this.options;
    const time = this.options.clock.now();
    this.options.emit({
      version: '0',
      id: `${deployment.deploymentId}-${state}`.toLowerCase(),
      'detail-type': CODEDEPLOY_DEPLOYMENT_STATE_CHANGE,
      source: CODEDEPLOY_SOURCE,
      account,
      time: eventBridgeTime(time),
      region,
      resources: [
        `arn:aws:codedeploy:${region}:${account}:application:${deployment.application}`,
        `arn:aws:codedeploy:${region}:${account}:deploymentgroup:${deployment.application}/${deployment.deploymentGroup}`,
      ],
      detail: {
        instanceGroupId: `ig-${deployment.deploymentId}`,
        region,
        application: deployment.application,
        deploymentId: deployment.deploymentId,
        state,
        deploymentGroup: deployment.deploymentGroup,
      },
    });
  }
}
