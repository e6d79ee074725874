import type { ComputePlatform } from '../events/emitted';

/**
 * The side effects of the handlers, as small interfaces. AWS adapters live in `handlers/adapters/`;
 * the laptop runtime and the tests provide in-process implementations of the same ports.
 */

/** CodeDeploy's deployment statuses (GetDeployment `deploymentInfo.status`). */
export const DEPLOYMENT_STATUSES = ['Created', 'Queued', 'InProgress', 'Baking', 'Ready', 'Succeeded', 'Failed', 'Stopped'] as const;
export type DeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number];

/** What the handlers need to know about a deployment, as GetDeployment reports it. */
export interface DeploymentSnapshot {
  readonly deploymentId: string;
  readonly status: DeploymentStatus;
  readonly computePlatform: ComputePlatform;
  /** Who created it: `user`, `autoscaling`, `codeDeployRollback` (a rollback, never to be stopped), ... */
  readonly creator?: string;
  readonly application?: string;
  readonly deploymentGroup?: string;
}

/**
 * Why CodeDeploy refused an action. These are races, normal in an at-least-once world, so the
 * adapter returns them instead of throwing; anything else (access denied, a bug) is thrown.
 */
export const CODEDEPLOY_REFUSALS = [
  'DeploymentAlreadyCompleted',
  'DeploymentAlreadyStopped',
  'DeploymentNotFound',
  'DeploymentNotReady',
  'HookExpired',
] as const;
export type CodeDeployRefusal = (typeof CODEDEPLOY_REFUSALS)[number];

export type CodeDeployOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly refusal: CodeDeployRefusal; readonly message: string };

export type DeploymentLookup =
  | { readonly found: true; readonly deployment: DeploymentSnapshot }
  | { readonly found: false; readonly message: string };

/** The CodeDeploy calls the rollback handler makes. */
export interface CodeDeployPort {
  getDeployment(deploymentId: string): Promise<DeploymentLookup>;
  stopDeployment(deploymentId: string, options: { readonly autoRollbackEnabled: boolean }): Promise<CodeDeployOutcome>;
  /** Lets an EC2/on-premises blue/green deployment waiting at READY move traffic. */
  continueDeployment(deploymentId: string): Promise<CodeDeployOutcome>;
  putLifecycleEventHookExecutionStatus(
    deploymentId: string,
    hookExecutionId: string,
    status: 'Succeeded' | 'Failed',
  ): Promise<CodeDeployOutcome>;
}

/** What the rollback handler does to a deployment; one per deployment, ever. */
export type GuardAction = 'StopDeployment' | 'LifecycleHookFailed' | 'ContinueDeployment';

/** How the handler's decision ended, as recorded in the ledger and (for rollbacks) published. */
export type LedgerOutcome =
  | { readonly kind: 'completed'; readonly action: GuardAction; readonly at: number }
  | {
      readonly kind: 'not-done';
      /** A CodeDeploy refusal, a reason the domain found nothing to do, or `Error`. */
      readonly reason: string;
      readonly message: string;
      readonly at: number;
    };

export interface LedgerEntry {
  readonly deploymentId: string;
  readonly action: GuardAction;
  /** Milliseconds since the epoch, from the injected clock. */
  readonly claimedAt: number;
  readonly outcome?: LedgerOutcome;
  /** Whether the event announcing the outcome has been published. */
  readonly published: boolean;
}

/**
 * The idempotency record of the rollback handler, keyed on deploymentId (in AWS a conditional write:
 * `attribute_not_exists(deploymentId)`). The claim comes before any CodeDeploy call, so however often
 * a request is delivered, CodeDeploy is asked at most once per deployment.
 */
export interface RollbackLedger {
  /** Resolves true if this call is the first to claim the deployment, false if it was claimed before. */
  claim(deploymentId: string, action: GuardAction, at: number): Promise<boolean>;
  record(deploymentId: string, outcome: LedgerOutcome): Promise<void>;
  /** Marks the outcome's event as published, so that a redelivery does not publish it again. */
  markPublished(deploymentId: string): Promise<void>;
  read(deploymentId: string): Promise<LedgerEntry | undefined>;
}
