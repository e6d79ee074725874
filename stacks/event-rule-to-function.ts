import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule';
import { CloudwatchEventTarget } from '@cdktf/provider-aws/lib/cloudwatch-event-target';
import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission';
import { SqsQueuePolicy } from '@cdktf/provider-aws/lib/sqs-queue-policy';
import { Construct } from 'constructs';
import type { RuleDefinition } from '../events/patterns';
import { DeadLetterQueue } from './dead-letter-queue';
import type { NodejsFunction } from './nodejs-function';
import { ownName } from '../events/names';

/** How EventBridge retries a target before the event goes to the dead-letter queue. */
export interface DeliveryProps {
  /** Prefix of the dead-letter queue's name. */
  readonly namePrefix: string;
  /** The KMS key (ARN) encrypting the dead-letter queue. */
  readonly kmsKeyArn: string;
  /** Retries after the first attempt, 0 to 185. @default 185 (EventBridge's maximum) */
  readonly maximumRetryAttempts?: number;
  /** Seconds after which an undelivered event goes to the dead-letter queue, 60 to 86400. @default 3600 */
  readonly maximumEventAgeInSeconds?: number;
}

export interface EventRuleToFunctionProps extends DeliveryProps {
  /** The rule resource (from DeployGuardEventBus.rules, or Retraining.schedule). */
  readonly rule: CloudwatchEventRule;
  /** Its definition in events/patterns.ts (a pattern rule or a schedule rule): says which handler the rule feeds. */
  readonly definition: RuleDefinition;
  /** The function; it must run the handler the definition names. */
  readonly function: NodejsFunction;
}

/**
 * Delivers one rule of events/patterns.ts (matching a pattern, or firing on a schedule) to the
 * handler it is meant for: a target with a retry policy and a KMS-encrypted dead-letter queue that
 * only this rule may write to, and a Lambda permission scoped to this rule's ARN. The pattern or
 * schedule itself lives in events/patterns.ts only.
 */
export class EventRuleToFunction extends Construct {
  readonly target: CloudwatchEventTarget;
  readonly deadLetterQueue: DeadLetterQueue;

  constructor(scope: Construct, id: string, props: EventRuleToFunctionProps) {
    super(scope, id);
    if (props.definition.target !== props.function.handlerName) {
      throw new Error(
        `EventRuleToFunction rule '${props.definition.name}' feeds '${props.definition.target}', not the '${props.function.handlerName}' handler`,
      );
    }
    const delivery = deliverySettings(`EventRuleToFunction rule '${props.definition.name}'`, props);
    this.deadLetterQueue = ruleDeadLetterQueue(this, props.rule, props.definition, props);
    const permission = new LambdaPermission(this, 'permission', {
      statementId: `events-${props.definition.name}`,
      action: 'lambda:InvokeFunction',
      functionName: props.function.function.functionName,
      principal: 'events.amazonaws.com',
      sourceArn: props.rule.arn,
    });
    this.target = new CloudwatchEventTarget(this, 'target', {
      rule: props.rule.name,
      eventBusName: props.rule.eventBusName,
      targetId: props.function.handlerName,
      arn: props.function.function.arn,
      retryPolicy: delivery,
      deadLetterConfig: { arn: this.deadLetterQueue.queue.arn },
      dependsOn: [permission],
    });
  }
}

function deliverySettings(owner: string, props: DeliveryProps): { maximumRetryAttempts: number; maximumEventAgeInSeconds: number } {
  const maximumRetryAttempts = props.maximumRetryAttempts ?? 185;
  const maximumEventAgeInSeconds = props.maximumEventAgeInSeconds ?? 3600;
  if (!Number.isInteger(maximumRetryAttempts) || maximumRetryAttempts < 0 || maximumRetryAttempts > 185) {
    throw new Error(`${owner}: maximumRetryAttempts must be an integer from 0 to 185, got ${maximumRetryAttempts}`);
  }
  if (!Number.isInteger(maximumEventAgeInSeconds) || maximumEventAgeInSeconds < 60 || maximumEventAgeInSeconds > 86400) {
    throw new Error(`${owner}: maximumEventAgeInSeconds must be an integer from 60 to 86400, got ${maximumEventAgeInSeconds}`);
  }
  return { maximumRetryAttempts, maximumEventAgeInSeconds };
}

/** The rule's dead-letter queue; only EventBridge, on behalf of this very rule, may send to it. */
function ruleDeadLetterQueue(scope: Construct, rule: CloudwatchEventRule, definition: RuleDefinition, props: DeliveryProps): DeadLetterQueue {
  const queue = new DeadLetterQueue(scope, 'dlq', { name: ownName(props.namePrefix, `${definition.name}-dlq`), kmsKeyArn: props.kmsKeyArn });
  new SqsQueuePolicy(scope, 'dlq-policy', {
    queueUrl: queue.queue.url,
    policy: JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'RuleDeadLetters',
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: 'sqs:SendMessage',
          Resource: queue.queue.arn,
          Condition: { ArnEquals: { 'aws:SourceArn': rule.arn } },
        },
      ],
    }),
  });
  return queue;
}
