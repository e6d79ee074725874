import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { LocalBackend, S3Backend, TerraformOutput, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { DEFAULT_EVENT_SOURCE } from '../events/emitted';
import { RETRAINING_SCHEDULE_RULE, ruleNamed } from '../events/patterns';
import { ENV, type EnvName, type PromotionSettings, type RetrainingSettings } from '../handlers/config';
import type { HandlerName } from '../handlers/entries';
import { INITIAL_MODEL_VERSION, SERVED_MODELS_PREFIX, servedModelKeys, TRAINING_OUTPUT_PREFIX, TRAINING_ROWS_PREFIX } from '../handlers/s3-layout';
import { changeSummaryPublishersByApplication, exampleGroupNames, groupDecision, guardedGroupPolicies, iamRoleArn, type EnvironmentConfig } from './config';
import { DataStores } from './data-stores';
import type { DeadLetterQueue } from './dead-letter-queue';
import { DeployGuardEventBus } from './event-bus';
import { DeployGuardBusPolicy } from './event-bus-policy';
import { EventRuleToFunction } from './event-rule-to-function';
import { ExampleGuardedService } from './example-service';
import { GuardedDeploymentGroup, predictMaximumEventAgeSeconds, trafficHookFunctionName } from './guarded-deployment-group';
import { InitialModel } from './initial-model';
import type { PolicyStatement } from './iam';
import { awsPartition } from './image-uris';
import { EncryptionKey } from './kms';
import { ModelNotebook } from './model-notebook';
import { Monitoring } from './monitoring';
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

/** Which rules of events/patterns.ts (and the retraining schedule) feed which handler; 'notify' goes to the SNS topic. */
export const RULE_TARGETS: Readonly<Record<string, HandlerName>> = {
  'deployment-started': 'predict',
  'pipeline-deploy-action-started': 'predict',
  'deployment-finished': 'record-outcome',
  'model-alarm': 'drift',
  'training-job-finished': 'promote',
  'model-package-approved': 'promote',
  'change-summary': 'record-change',
  'rollback-requested': 'rollback',
  'gate-proceed': 'rollback',
  [RETRAINING_SCHEDULE_RULE]: 'drift',
};

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
  readonly busPolicy: DeployGuardBusPolicy;
  readonly dataStores: DataStores;
  readonly functions: Readonly<Record<HandlerName, NodejsFunction>>;
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
    this.eventBus = new DeployGuardEventBus(this, 'events', { namePrefix, source });
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
    // The configured groups, then the example's: the handlers guard (and may act on) exactly these.
    const groupPolicies = guardedGroupPolicies(config);
    const groupArns = this.groups.map((group) => group.deploymentGroupArn);

    // ARNs built from names, so that policies are exact before anything exists.
    const tableArn = (table: keyof typeof tableNames) => arn('dynamodb', `table/${tableNames[table]}`);
    const busArn = arn('events', `event-bus/${namePrefix}`);
    const objects = (bucket: keyof typeof bucketNames, prefix = '') => `arn:${partition}:s3:::${bucketNames[bucket]}/${prefix}*`;
    const bucketArn = (bucket: keyof typeof bucketNames) => `arn:${partition}:s3:::${bucketNames[bucket]}`;
    const endpointArn = arn('sagemaker', `endpoint/${this.endpoint.endpointName}`);
    const items = (...tables: (keyof typeof tableNames)[]): PolicyStatement => ({
      sid: 'Tables',
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
      resources: tables.map(tableArn),
    });
    const putEvents: PolicyStatement = { sid: 'PublishOnOwnBus', actions: ['events:PutEvents'], resources: [busArn] };
    const passRole = (roleArns: string[]): PolicyStatement => ({
      sid: 'PassSageMakerRoles',
      actions: ['iam:PassRole'],
      resources: roleArns,
      conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
    });

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

    const common: Partial<Record<EnvName, string>> = {
      [ENV.eventBus]: this.eventBus.bus.name,
      [ENV.eventSource]: source,
      [ENV.namePrefix]: namePrefix,
      [ENV.metricsNamespace]: config.metricsNamespace,
    };
    const tablesEnv = (...tables: (keyof typeof tableNames)[]) =>
      Object.fromEntries(tables.map((table) => [{ deployments: ENV.deploymentsTable, history: ENV.historyTable, changes: ENV.changesTable, control: ENV.controlTable }[table], tableNames[table]]));
    const trainingJobs = arn('sagemaker', `training-job/${namePrefix}-*`);

    const definitions: Record<HandlerName, { statements: PolicyStatement[]; environment: Partial<Record<EnvName, string>>; timeoutSeconds?: number; functionName?: string }> = {
      predict: {
        statements: [
          { sid: 'ReadGuardedDeployments', actions: ['codedeploy:GetDeployment'], resources: groupArns },
          { sid: 'ScoreWithEndpoint', actions: ['sagemaker:InvokeEndpoint'], resources: [endpointArn] },
          items('deployments', 'history', 'changes', 'control'),
          { sid: 'ReadServingModel', actions: ['s3:GetObject'], resources: [objects('models', SERVED_MODELS_PREFIX)] },
          { sid: 'WriteAssessedRows', actions: ['s3:PutObject'], resources: [objects('data', TRAINING_ROWS_PREFIX)] },
          putEvents,
        ],
        environment: {
          ...common,
          ...tablesEnv('deployments', 'history', 'changes', 'control'),
          [ENV.endpointName]: this.endpoint.endpointName,
          [ENV.endpointTimeoutMs]: '2000',
          [ENV.groups]: JSON.stringify(groupPolicies),
          [ENV.dataBucket]: bucketNames.data,
          [ENV.modelBucket]: bucketNames.models,
        },
      },
      'traffic-hook': {
        functionName: trafficHookFunctionName(namePrefix),
        statements: [
          { sid: 'ReportHookStatus', actions: ['codedeploy:GetDeployment', 'codedeploy:PutLifecycleEventHookExecutionStatus'], resources: groupArns },
          { sid: 'ScoreWithEndpoint', actions: ['sagemaker:InvokeEndpoint'], resources: [endpointArn] },
          items('deployments', 'history', 'changes', 'control'),
          { sid: 'ReadServingModel', actions: ['s3:GetObject'], resources: [objects('models', SERVED_MODELS_PREFIX)] },
          putEvents,
        ],
        environment: {
          ...common,
          ...tablesEnv('deployments', 'history', 'changes', 'control'),
          [ENV.endpointName]: this.endpoint.endpointName,
          [ENV.endpointTimeoutMs]: '2000',
          [ENV.groups]: JSON.stringify(groupPolicies),
          [ENV.modelBucket]: bucketNames.models,
        },
      },
      rollback: {
        statements: [
          {
            sid: 'ActOnGuardedDeployments',
            actions: ['codedeploy:GetDeployment', 'codedeploy:StopDeployment', 'codedeploy:ContinueDeployment', 'codedeploy:PutLifecycleEventHookExecutionStatus'],
            resources: groupArns,
          },
          items('control'),
          // predict's stored assessment decides what rollback may do; it only reads it.
          { sid: 'ReadAssessments', actions: ['dynamodb:GetItem'], resources: [tableArn('deployments')] },
          putEvents,
        ],
        environment: { ...common, ...tablesEnv('deployments', 'control'), [ENV.groups]: JSON.stringify(groupPolicies), [ENV.accountId]: accountId },
      },
      'record-change': {
        statements: [items('changes')],
        environment: { ...common, ...tablesEnv('changes') },
      },
      'record-outcome': {
        statements: [items('deployments', 'history', 'control'), { sid: 'WriteTrainingRows', actions: ['s3:PutObject'], resources: [objects('data', TRAINING_ROWS_PREFIX)] }],
        environment: { ...common, ...tablesEnv('deployments', 'history', 'control'), [ENV.dataBucket]: bucketNames.data, [ENV.dataKmsKey]: kmsKeyArn },
      },
      drift: {
        statements: [
          { sid: 'StartTraining', actions: ['sagemaker:CreateTrainingJob', 'sagemaker:AddTags'], resources: [trainingJobs] },
          // ListTrainingJobs has no resource type: AWS accepts only "*".
          { sid: 'FindRunningTraining', actions: ['sagemaker:ListTrainingJobs'], resources: ['*'] },
          passRole([this.retraining.role.arn]),
          items('control'),
          { sid: 'ListTrainingRows', actions: ['s3:ListBucket'], resources: [bucketArn('data')], conditions: { StringLike: { 's3:prefix': [`${TRAINING_ROWS_PREFIX}*`] } } },
          { sid: 'ReadTrainingRows', actions: ['s3:GetObject'], resources: [objects('data', TRAINING_ROWS_PREFIX)] },
          putEvents,
        ],
        environment: {
          ...common,
          ...tablesEnv('control'),
          [ENV.dataBucket]: bucketNames.data,
          [ENV.modelBucket]: bucketNames.models,
          [ENV.retraining]: JSON.stringify(retrainingSettings),
        },
        timeoutSeconds: 300,
      },
      promote: {
        statements: [
          { sid: 'ReadTrainingJobs', actions: ['sagemaker:DescribeTrainingJob'], resources: [trainingJobs] },
          {
            sid: 'DeployModels',
            actions: ['sagemaker:CreateModel', 'sagemaker:CreateEndpointConfig', 'sagemaker:AddTags'],
            resources: [arn('sagemaker', `model/${namePrefix}-*`), arn('sagemaker', `endpoint-config/${namePrefix}-*`)],
          },
          { sid: 'UpdateEndpoint', actions: ['sagemaker:UpdateEndpoint', 'sagemaker:DescribeEndpoint'], resources: [endpointArn, arn('sagemaker', `endpoint-config/${namePrefix}-*`)] },
          {
            sid: 'RegisterModels',
            actions: ['sagemaker:CreateModelPackage', 'sagemaker:DescribeModelPackage', 'sagemaker:AddTags'],
            resources: [
              arn('sagemaker', `model-package-group/${this.retraining.modelPackageGroupName}`),
              arn('sagemaker', `model-package/${this.retraining.modelPackageGroupName}/*`),
            ],
          },
          // ListModelPackages has no resource type: AWS accepts only "*" (promote lists its own group only).
          { sid: 'FindRegisteredModels', actions: ['sagemaker:ListModelPackages'], resources: ['*'] },
          passRole([this.endpoint.executionRole.arn]),
          items('control', 'history'),
          // The jobs' output (evaluation, and the model to adopt), the served models and the data lake's rows.
          {
            sid: 'ReadTrainingOutputAndModels',
            actions: ['s3:GetObject'],
            resources: [objects('models', `${TRAINING_OUTPUT_PREFIX}${namePrefix}-`), objects('models', SERVED_MODELS_PREFIX), objects('data', TRAINING_ROWS_PREFIX)],
          },
          // The copy of an adopted model: promote (and the stack's first model) alone write the served prefix,
          // and only the versions of its own jobs, never the first model.
          { sid: 'WriteServedModels', actions: ['s3:PutObject'], resources: [objects('models', `${SERVED_MODELS_PREFIX}${namePrefix}-`)] },
          // The validation rows promote scores both models on: listed by date under the data lake's prefix.
          { sid: 'ListValidationRows', actions: ['s3:ListBucket'], resources: [bucketArn('data')], conditions: { StringLike: { 's3:prefix': [`${TRAINING_ROWS_PREFIX}*`] } } },
          putEvents,
        ],
        environment: {
          ...common,
          ...tablesEnv('control', 'history'),
          [ENV.endpointName]: this.endpoint.endpointName,
          [ENV.modelBucket]: bucketNames.models,
          [ENV.dataBucket]: bucketNames.data,
          [ENV.retraining]: JSON.stringify(retrainingSettings),
          [ENV.promotion]: JSON.stringify(promotionSettings),
        },
        timeoutSeconds: 300,
      },
    };

    // predict's events expire before the shortest READY wait; the acting handlers keep their own capacity.
    const predictEventAge = predictMaximumEventAgeSeconds(this.groups);
    const reserved: Partial<Record<HandlerName, number>> = {
      predict: config.reservedConcurrency.predict,
      'traffic-hook': config.reservedConcurrency.trafficHook,
      rollback: config.reservedConcurrency.rollback,
    };
    const functions = {} as Record<HandlerName, NodejsFunction>;
    for (const [handler, definition] of Object.entries(definitions) as [HandlerName, (typeof definitions)[HandlerName]][]) {
      functions[handler] = new NodejsFunction(this, `fn-${handler}`, {
        handler,
        functionName: definition.functionName ?? `${namePrefix}-${handler}`,
        kmsKeyArn,
        accountId,
        statements: definition.statements,
        environment: definition.environment,
        logRetentionDays: config.logRetentionDays,
        ...(definition.timeoutSeconds ? { timeoutSeconds: definition.timeoutSeconds } : {}),
        ...(reserved[handler] !== undefined ? { reservedConcurrentExecutions: reserved[handler] } : {}),
        ...(handler === 'predict' ? { maximumEventAgeInSeconds: predictEventAge } : {}),
      });
    }
    this.functions = functions;
    // Only the functions granted PutEvents may put decisions on the bus, only the configured CI principals change summaries.
    const publishing = (Object.keys(definitions) as HandlerName[]).filter((handler) => definitions[handler].statements.includes(putEvents));
    this.busPolicy = new DeployGuardBusPolicy(this, 'bus-policy', {
      busName: this.eventBus.bus.name,
      busArn: this.eventBus.bus.arn,
      source,
      functionRoleArns: publishing.map((handler) => functions[handler].role.arn),
      changeSummaryPublisherArns: Object.values(changeSummaryPublishersByApplication(config)).flat(),
    });

    const deadLetterQueues: DeadLetterQueue[] = Object.values(functions).map((fn) => fn.deadLetterQueue);
    const rules = this.eventBus.ruleDefinitions;
    const { schedule } = this.retraining;
    const deliveries = [
      ...rules.filter((definition) => definition.target !== 'notify').map((definition) => ({ definition, rule: this.eventBus.rules[definition.name] })),
      ...(schedule ? [schedule] : []),
    ];
    for (const { definition, rule } of deliveries) {
      const handler = RULE_TARGETS[definition.name];
      if (!handler) throw new Error(`DeployGuardStack: rule '${definition.name}' of events/patterns.ts has no handler in RULE_TARGETS`);
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
    const notify = ruleNamed(rules, 'notify');
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
      rules: [...rules, ...(schedule ? [schedule.definition] : [])],
      driftAlarms: [this.retraining.errorRateAlarm, this.retraining.brierAlarm],
      notifyRule: { rule: this.eventBus.rules[notify.name], definition: notify },
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
    new TerraformOutput(this, 'traffic_hook_function_name', { value: functions['traffic-hook'].functionName, description: 'BeforeAllowTraffic hook for ECS / Lambda AppSpecs' });
  }
}
