import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule';
import { holdTimeoutsRule, shadowDigestRule } from '../events/patterns';
import { LocalBackend, S3Backend, TerraformOutput, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { DEFAULT_EVENT_SOURCE } from '../events/emitted';
import { handlerFunctionName } from '../events/names';
import type { NotificationSettings, PromotionSettings, RetrainingSettings } from '../handlers/config';
import { publishes, type EnvKey } from '../handlers/declaration';
import { HANDLER_DECLARATIONS } from '../handlers/declarations';
import { PipelineGate } from './pipeline-gate';
import { HANDLER_NAMES, type HandlerName } from '../handlers/entries';
import { INITIAL_MODEL_VERSION, SERVED_MODELS_PREFIX, servedModelKeys } from '../handlers/s3-layout';
import { DEFAULT_HOOK_WAIT_MS } from '../handlers/traffic-hook.declaration';
import { changeSummaryPublishersByApplication, exampleGroupNames, groupAlarmNames, groupDecision, guardedGroupPolicies, iamRoleArn, shadowDigestSettingsOf, type EnvironmentConfig } from './config';
import { bakeSweepSchedule, GroupAlarms, timedRuleOnDefaultBus } from './group-alarms';
import { watchedAlarmNames } from '../handlers/bake-domain';
import { ChatChannels, chatTopicName } from './chat-channels';
import { DataStores } from './data-stores';
import type { DeadLetterQueue } from './dead-letter-queue';
import { DeployGuardEventBus } from './event-bus';
import { DeployGuardBusPolicy } from './event-bus-policy';
import { OperatorRole } from './operator-role';
import { EventRuleToFunction } from './event-rule-to-function';
import { ExampleGuardedService } from './example-service';
import { GuardedDeploymentGroup, predictMaximumEventAgeSeconds } from './guarded-deployment-group';
import { declaredEnvironment, grantedStatements, installationFeatures, type InstallationResources } from './handler-grants';
import { InitialModel } from './initial-model';
import { awsPartition } from './image-uris';
import { EncryptionKey } from './kms';
import { ModelNotebook } from './model-notebook';
import { Monitoring, notificationTopicName } from './monitoring';
import { NodejsFunction } from './nodejs-function';
import { PredictionEndpoint } from './prediction-endpoint';
import { Retraining } from './retraining';

export interface DeployGuardStackProps {
  /** The environment's name (dev, staging, prod): a key of deploy-guard.config.json. */
  readonly environment: string;
  /** Its validated configuration (stacks/config.ts). */
  readonly config: EnvironmentConfig;
}

/** Where the first model lives in the model bucket (promote serves later ones beside it, under models/). */
export const INITIAL_MODEL_KEY = servedModelKeys(INITIAL_MODEL_VERSION).model;

/**
 * One installation of Deploy Guard in one environment: the key, the bus and its rules, the tables
 * and buckets, the prediction endpoint, retraining, the guarded deployment groups (and, when
 * configured, the example service guarding its own blue/green group), one function per
 * handler with least-privilege IAM, every rule delivered with retries and a dead-letter queue, and
 * monitoring. Everything is named from the configuration's namePrefix; nothing needs AWS to
 * synthesize or plan (the account id comes from the configuration).
 */
export class DeployGuardStack extends TerraformStack {
  readonly eventBus: DeployGuardEventBus;
  /** The alarms the stack creates for the guarded groups from a metric and a threshold. */
  readonly groupAlarms: GroupAlarms;
  readonly busPolicy: DeployGuardBusPolicy;
  /** Only when the configuration names operators. */
  readonly operatorRole?: OperatorRole;
  readonly dataStores: DataStores;
  readonly functions: Readonly<Record<HandlerName, NodejsFunction>>;
  /** The pipeline gate stages of the configured groups (config `pipelineGates`), in order. */
  readonly pipelineGates: readonly PipelineGate[];
  readonly monitoring: Monitoring;
  readonly endpoint: PredictionEndpoint;
  readonly retraining: Retraining;
  /** The model served until the first promotion, and the serving pointer seeded with it. */
  readonly initialModel: InitialModel;
  /** Every guarded group: the configured ones, then the example's. */
  readonly groups: readonly GuardedDeploymentGroup[];
  /** Only when the configuration has an example. */
  readonly example?: ExampleGuardedService;
  /** Only when the configuration enables it. */
  readonly notebook?: ModelNotebook;
  /** Only when the configuration names a Slack or Teams channel. */
  readonly chatChannels?: ChatChannels;

  constructor(scope: Construct, id: string, props: DeployGuardStackProps) {
    super(scope, id);
    const { config, environment } = props;
    const { namePrefix, region, accountId } = config;
    const partition = awsPartition(region);
    const arn = (service: string, resource: string) => `arn:${partition}:${service}:${region}:${accountId}:${resource}`;
    const source = config.eventSource ?? DEFAULT_EVENT_SOURCE;

    new AwsProvider(this, 'aws', {
      region,
      allowedAccountIds: [accountId],
      defaultTags: [{ tags: { application: 'deploy-guard', environment } }],
    });
    if (config.backend.kind === 's3') {
      const { bucket, key, region: backendRegion, dynamodbTable } = config.backend;
      new S3Backend(this, { bucket, key, region: backendRegion, dynamodbTable, encrypt: true });
    } else {
      new LocalBackend(this, { path: `terraform.${id}.tfstate` });
    }

    const kms = new EncryptionKey(this, 'kms', { namePrefix, accountId, region });
    const kmsKeyArn = kms.key.arn;
    // The configured groups, then the example's: the handlers guard (and may act on) exactly these.
    const groupPolicies = guardedGroupPolicies(config);
    const bakeAlarmNames = watchedAlarmNames(groupPolicies);
    this.eventBus = new DeployGuardEventBus(this, 'events', { namePrefix, source, bakeAlarmNames });
    this.groupAlarms = new GroupAlarms(this, 'group-alarms', { namePrefix, groups: config.groups });
    this.dataStores = new DataStores(this, 'data', { namePrefix, accountId, kmsKeyArn });
    const { tableNames, bucketNames } = this.dataStores;
    this.initialModel = new InitialModel(this, 'initial-model', {
      folder: config.model.initial,
      modelBucketName: bucketNames.models,
      kmsKeyArn,
      controlTableName: tableNames.control,
      dependsOn: [this.dataStores.buckets.models, this.dataStores.tables.control],
    });

    this.endpoint = new PredictionEndpoint(this, 'endpoint', {
      namePrefix,
      region,
      accountId,
      modelArtifact: { bucketName: bucketNames.models, key: INITIAL_MODEL_KEY, uploadedBy: [this.initialModel.modelArchive] },
      modelArtifactPrefix: SERVED_MODELS_PREFIX,
      kmsKeyArn,
      hosting:
        config.hosting.kind === 'serverless'
          ? { kind: 'serverless', memorySizeInMb: config.hosting.memorySizeInMb, maxConcurrency: config.hosting.maxConcurrency }
          : { kind: 'provisioned', instanceType: config.hosting.instanceType, initialInstanceCount: config.hosting.initialInstanceCount },
      ...(config.hosting.kind === 'provisioned' && config.hosting.dataCapture.enabled
        ? { dataCapture: { bucketName: bucketNames.captures, keyPrefix: 'endpoint/', samplingPercentage: config.hosting.dataCapture.samplingPercentage } }
        : {}),
      ...(config.hosting.kind === 'provisioned' && config.hosting.autoscaling
        ? {
            autoscaling: {
              minCapacity: config.hosting.autoscaling.min,
              maxCapacity: config.hosting.autoscaling.max,
              invocationsPerInstance: config.hosting.autoscaling.targetInvocationsPerInstance,
            },
          }
        : {}),
    });
    this.retraining = new Retraining(this, 'retraining', {
      namePrefix,
      region,
      accountId,
      dataBucketName: bucketNames.data,
      modelBucketName: bucketNames.models,
      kmsKeyArn,
      metricsNamespace: config.metricsNamespace,
      qualityAlarms: config.qualityAlarms,
      ...(config.retraining.scheduleDays !== undefined ? { scheduleDays: config.retraining.scheduleDays } : {}),
    });

    const configuredGroups = config.groups.map(
      (group, index) =>
        new GuardedDeploymentGroup(
          this,
          `group-${index}`,
          group.create
            ? {
                namePrefix,
                region,
                accountId,
                applicationName: group.application,
                deploymentGroupName: group.deploymentGroup,
                platform: group.platform,
                mode: group.mode,
                ...(group.create.readyTimeoutMinutes !== undefined ? { readyWaitMinutes: group.create.readyTimeoutMinutes } : {}),
                terminationWaitMinutes: group.create.terminateBlueAfterMinutes,
                // CodeDeploy's alarm-based automatic rollback (DEPLOYMENT_STOP_ON_ALARM) on the group's alarms.
                ...(groupAlarmNames(namePrefix, group).length > 0 ? { alarmNames: groupAlarmNames(namePrefix, group) } : {}),
                ...(group.platform === 'Server' && group.create.autoScalingGroups
                  ? {
                      server: {
                        autoScalingGroupNames: group.create.autoScalingGroups,
                        targetGroupName: group.create.targetGroupName ?? group.deploymentGroup,
                        instanceRoleArns: group.create.instanceRole ? [iamRoleArn(group.create.instanceRole, partition, accountId)] : [],
                      },
                    }
                  : {}),
                ...(group.platform === 'ECS' && group.create.ecs
                  ? {
                      ecs: {
                        clusterName: group.create.ecs.clusterName,
                        serviceName: group.create.ecs.serviceName,
                        targetGroupNames: group.create.ecs.targetGroupNames,
                        prodListenerArns: group.create.ecs.listenerArns,
                      },
                    }
                  : {}),
              }
            : {
                existing: true,
                region,
                accountId,
                applicationName: group.application,
                deploymentGroupName: group.deploymentGroup,
                platform: group.platform,
                mode: group.mode,
              },
        ),
    );
    configuredGroups.forEach((group, index) => group.groupPolicy(groupDecision(config.groups[index]), config.groups[index].failurePolicy));

    const { example } = config;
    if (example) {
      const names = exampleGroupNames(namePrefix);
      const [firstZone, secondZone] = example.availabilityZones;
      this.example = new ExampleGuardedService(this, 'example', {
        namePrefix,
        region,
        accountId,
        availabilityZones: [firstZone, secondZone],
        amiId: example.amiId,
        instanceType: example.instanceType,
        vpcCidr: example.vpcCidr,
        allowedIngressCidrs: example.allowedIngressCidrs,
        // The volumes use the account's default EBS key: the installation key's policy does not admit
        // the Auto Scaling service-linked role that launches the instances.
        ...(example.revisionBucketName ? { revisionBucketName: example.revisionBucketName } : {}),
        applicationName: names.application,
        deploymentGroupName: names.deploymentGroup,
        mode: example.mode,
        ...(example.readyTimeoutMinutes !== undefined ? { readyWaitMinutes: example.readyTimeoutMinutes } : {}),
        terminationWaitMinutes: example.terminateBlueAfterMinutes,
      });
      this.example.guardedGroup.groupPolicy(groupDecision(example), example.failurePolicy);
    }
    this.groups = [...configuredGroups, ...(this.example ? [this.example.guardedGroup] : [])];

    const retrainingSettings: RetrainingSettings = this.retraining.retrainingSettings(config.retraining);
    const promotionSettings: PromotionSettings = {
      minimumAuc: config.promotion.minimumAuc,
      approval: config.promotion.approval,
      modelPackageGroupName: this.retraining.modelPackageGroupName,
      executionRoleArn: this.endpoint.executionRole.arn,
      rollbackAlarmNames: [...this.endpoint.rollbackAlarmNames],
      hosting:
        config.hosting.kind === 'serverless'
          ? { kind: 'serverless', memorySizeInMb: config.hosting.memorySizeInMb, maxConcurrency: config.hosting.maxConcurrency }
          : {
              kind: 'provisioned',
              instanceType: config.hosting.instanceType,
              initialInstanceCount: config.hosting.initialInstanceCount,
              // What the stack's own endpoint configuration declares, so promote's carry the same.
              ...(this.endpoint.declared.volumeKmsKeyArn ? { kmsKeyArn: this.endpoint.declared.volumeKmsKeyArn } : {}),
              ...(this.endpoint.declared.dataCapture
                ? { dataCaptureS3Uri: this.endpoint.declared.dataCapture.destinationS3Uri, dataCaptureSamplingPercentage: this.endpoint.declared.dataCapture.samplingPercentage }
                : { dataCaptureSamplingPercentage: 100 }),
            },
    };

    // By name, as the key policy names it: the topic is Monitoring's, which watches the functions made from these.
    const notificationTopicArn = arn('sns', notificationTopicName(namePrefix));
    const { slack, teams } = config.notifications;
    if (slack || teams) {
      this.chatChannels = new ChatChannels(this, 'chat', { namePrefix, region, accountId, kmsKeyArn, ...(slack ? { slack } : {}), ...(teams ? { teams } : {}) });
    }
    const chatTopicArn = this.chatChannels ? arn('sns', chatTopicName(namePrefix)) : undefined;
    const notificationSettings: NotificationSettings = { environment, region, topicArn: notificationTopicArn, ...(chatTopicArn ? { chatTopicArn } : {}) };

    const installation: InstallationResources = {
      partition,
      arn,
      namePrefix,
      tableNames,
      bucketNames,
      guardedGroupArns: this.groups.map((group) => group.deploymentGroupArn),
      endpointName: this.endpoint.endpointName,
      busName: namePrefix,
      trainingRoleArn: this.retraining.role.arn,
      servingRoleArn: this.endpoint.executionRole.arn,
      modelPackageGroupName: this.retraining.modelPackageGroupName,
      notificationTopicArns: [notificationTopicArn, ...(chatTopicArn ? [chatTopicArn] : [])],
      features: installationFeatures(groupPolicies),
    };
    const environmentValues: Record<EnvKey, string> = {
      eventBus: this.eventBus.bus.name,
      eventSource: source,
      namePrefix,
      metricsNamespace: config.metricsNamespace,
      deploymentsTable: tableNames.deployments,
      historyTable: tableNames.history,
      changesTable: tableNames.changes,
      controlTable: tableNames.control,
      dataBucket: bucketNames.data,
      dataKmsKey: kmsKeyArn,
      modelBucket: bucketNames.models,
      endpointName: this.endpoint.endpointName,
      endpointTimeoutMs: '2000',
      trafficHookWaitMs: String(DEFAULT_HOOK_WAIT_MS),
      groups: JSON.stringify(groupPolicies),
      retraining: JSON.stringify(retrainingSettings),
      promotion: JSON.stringify(promotionSettings),
      accountId,
      notifications: JSON.stringify(notificationSettings),
      shadowDigest: JSON.stringify(shadowDigestSettingsOf(config)),
      environment,
    };

    // predict's events expire before the shortest READY wait; the acting handlers keep their own capacity.
    const predictEventAge = predictMaximumEventAgeSeconds(this.groups);
    const reserved: Partial<Record<HandlerName, number>> = {
      predict: config.reservedConcurrency.predict,
      'traffic-hook': config.reservedConcurrency.trafficHook,
      rollback: config.reservedConcurrency.rollback,
    };
    const functions = {} as Record<HandlerName, NodejsFunction>;
    for (const handler of HANDLER_NAMES) {
      const declaration = HANDLER_DECLARATIONS[handler];
      functions[handler] = new NodejsFunction(this, `fn-${handler}`, {
        handler,
        functionName: handlerFunctionName(namePrefix, handler),
        kmsKeyArn,
        accountId,
        statements: grantedStatements(declaration, installation),
        environment: declaredEnvironment(declaration, environmentValues),
        logRetentionDays: config.logRetentionDays,
        ...(declaration.timeoutSeconds ? { timeoutSeconds: declaration.timeoutSeconds } : {}),
        ...(reserved[handler] !== undefined ? { reservedConcurrentExecutions: reserved[handler] } : {}),
        ...(handler === 'predict' ? { maximumEventAgeInSeconds: predictEventAge } : {}),
      });
    }
    this.functions = functions;
    // Only the functions granted PutEvents may put decisions on the bus, only the configured CI principals change summaries.
    const publishing = HANDLER_NAMES.filter((handler) => publishes(HANDLER_DECLARATIONS[handler]));
    if (config.operators.length > 0) {
      this.operatorRole = new OperatorRole(this, 'operators', {
        namePrefix,
        principalArns: config.operators,
        tableArn: (table) => arn('dynamodb', `table/${tableNames[table]}`),
        // this.groups and groupPolicies are in the same order: the configured groups, then the example's.
        heldGroupArns: this.groups.filter((_, index) => groupPolicies[index]?.mode === 'gate' && groupPolicies[index]?.onRisk === 'hold').map((group) => group.deploymentGroupArn),
        busArn: this.eventBus.bus.arn,
        source,
        kmsKeyArn,
        region,
      });
    }
    this.busPolicy = new DeployGuardBusPolicy(this, 'bus-policy', {
      busName: this.eventBus.bus.name,
      busArn: this.eventBus.bus.arn,
      source,
      functionRoleArns: publishing.map((handler) => functions[handler].role.arn),
      changeSummaryPublisherArns: Object.values(changeSummaryPublishersByApplication(config)).flat(),
      operatorRoleArns: this.operatorRole ? [this.operatorRole.role.arn] : [],
    });

    const deadLetterQueues: DeadLetterQueue[] = Object.values(functions).map((fn) => fn.deadLetterQueue);
    const rules = this.eventBus.ruleDefinitions;
    const { schedule } = this.retraining;
    // Bakes end on a one-minute sweep (nothing waits in a function).
    const sweep = bakeAlarmNames.length > 0 ? bakeSweepSchedule(this, namePrefix) : undefined;
    const holdTimeouts = groupPolicies.some((group) => group.mode === 'gate' && group.onRisk === 'hold') ? holdTimeoutsSchedule(this, namePrefix) : undefined;
    // Shadow decisions are told once a day, in one digest, when the configuration asks for it.
    const digest = config.notifications.shadow === 'summary' ? timedRuleOnDefaultBus(this, namePrefix, shadowDigestRule()) : undefined;
    const timed = [...(schedule ? [schedule] : []), ...(holdTimeouts ? [holdTimeouts] : []), ...(sweep ? [sweep] : []), ...(digest ? [digest] : [])];
    const deliveries = [...rules.map((definition) => ({ definition, rule: this.eventBus.rules[definition.name] })), ...timed];
    for (const { definition, rule } of deliveries) {
      const handler = definition.target;
      const delivery = new EventRuleToFunction(this, `deliver-${definition.name}`, {
        rule,
        definition,
        function: functions[handler],
        namePrefix,
        kmsKeyArn,
        ...(handler === 'predict' ? { maximumEventAgeInSeconds: predictEventAge } : {}),
      });
      deadLetterQueues.push(delivery.deadLetterQueue);
    }
    this.monitoring = new Monitoring(this, 'monitoring', {
      namePrefix,
      region,
      accountId,
      kmsKeyArn,
      emails: config.notifications.emails,
      metricsNamespace: config.metricsNamespace,
      functions: Object.values(functions),
      deadLetterQueues,
      busName: namePrefix,
      rules: [...rules, ...timed.map((delivery) => delivery.definition)],
      driftAlarms: [this.retraining.errorRateAlarm, this.retraining.brierAlarm],
    });

    if (config.notebook.enabled) {
      this.notebook = new ModelNotebook(this, 'notebook', {
        namePrefix,
        region,
        accountId,
        kmsKeyArn,
        instanceType: config.notebook.instanceType,
        sandbox: config.notebook.sandbox,
        ...(config.notebook.vpcCidr ? { vpcCidr: config.notebook.vpcCidr } : {}),
        ...(config.notebook.subnetId ? { subnetId: config.notebook.subnetId } : {}),
        ...(config.notebook.securityGroupIds ? { securityGroupIds: config.notebook.securityGroupIds } : {}),
        dataBucketName: bucketNames.data,
        modelBucketName: bucketNames.models,
        endpointName: this.endpoint.endpointName,
        tables: tableNames,
        sagemakerRoleArn: this.retraining.role.arn,
      });
    }

    new TerraformOutput(this, 'event_bus_name', { value: this.eventBus.bus.name, description: "Deploy Guard's event bus" });
    new TerraformOutput(this, 'endpoint_name', { value: this.endpoint.endpointName, description: 'The SageMaker endpoint serving the model' });
    new TerraformOutput(this, 'notification_topic_arn', { value: this.monitoring.topic.arn, description: 'SNS topic of notifications and alarms' });
    if (this.example) {
      const group = this.example.guardedGroup;
      new TerraformOutput(this, 'example_url', { value: `http://${this.example.loadBalancer.dnsName}/`, description: "The example service's load balancer" });
      new TerraformOutput(this, 'example_deployment_group', {
        value: `${group.applicationName}/${group.deploymentGroupName}`,
        description: 'The example service\'s CodeDeploy application/deployment group: deploy a revision to it to see Deploy Guard assess it',
      });
    }
    const gate = functions['pipeline-gate'];
    this.pipelineGates = config.pipelineGates.map(
      (settings) => new PipelineGate(this, `pipeline-gate-${settings.application}-${settings.deploymentGroup}`, { functionName: gate.functionName, functionArn: gate.function.arn, ...settings }),
    );
    new TerraformOutput(this, 'pipeline_gate_function_name', { value: gate.functionName, description: 'The Lambda invoke action of a pipeline gate stage, before the Deploy stage (README: "A gate in the pipeline")' });
    if (this.pipelineGates.length > 0) {
      new TerraformOutput(this, 'pipeline_gate_stages', {
        value: Object.fromEntries(config.pipelineGates.map((settings, index) => [`${settings.application}/${settings.deploymentGroup}`, this.pipelineGates[index].stageJson])),
        description: "Each configured group's gate stage as `aws codepipeline update-pipeline` takes it: insert it before the Deploy stage",
      });
    }
    new TerraformOutput(this, 'traffic_hook_function_name', { value: functions['traffic-hook'].functionName, description: 'BeforeAllowTraffic hook for ECS / Lambda AppSpecs' });
  }
}

/**
 * The hold timeouts' schedule (events/patterns.ts holdTimeoutsRule), on the default bus (EventBridge
 * runs schedules only there), delivered to the rollback function, which already may act on the guarded
 * groups' deployments and the control table: a hold's timeout needs no new function or permission.
 */
function holdTimeoutsSchedule(scope: Construct, namePrefix: string): { readonly rule: CloudwatchEventRule; readonly definition: ReturnType<typeof holdTimeoutsRule> } {
  return timedRuleOnDefaultBus(scope, namePrefix, holdTimeoutsRule());
}
