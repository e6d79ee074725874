import { ChatbotSlackChannelConfiguration } from '@cdktf/provider-aws/lib/chatbot-slack-channel-configuration';
import { ChatbotTeamsChannelConfiguration } from '@cdktf/provider-aws/lib/chatbot-teams-channel-configuration';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { SnsTopic } from '@cdktf/provider-aws/lib/sns-topic';
import { Construct } from 'constructs';
import { ownName } from '../events/names';
import { awsPartition } from './image-uris';
import { assumeRolePolicy } from './iam';

export interface SlackChannel {
  /** The Slack workspace (team) id; the workspace must have been authorized once in the AWS Chatbot console. */
  readonly workspaceId: string;
  readonly channelId: string;
}

export interface TeamsChannel {
  /** The Microsoft Teams team id; the team must have been authorized once in the AWS Chatbot console. */
  readonly teamId: string;
  readonly channelId: string;
  readonly tenantId: string;
}

export interface ChatChannelsProps {
  readonly namePrefix: string;
  readonly region: string;
  readonly accountId: string;
  /** The KMS key (ARN) encrypting the chat topic. */
  readonly kmsKeyArn: string;
  /** @default none */
  readonly slack?: SlackChannel;
  /** @default none */
  readonly teams?: TeamsChannel;
}

/** The chat topic's name: notify publishes Chatbot custom notifications there (the stack grants it by this name). */
export function chatTopicName(namePrefix: string): string {
  return ownName(namePrefix, 'chat');
}

/**
 * Deploy Guard's messages in Slack and / or Microsoft Teams through AWS Chatbot: a KMS-encrypted
 * topic that notify publishes Chatbot custom notifications to, and a channel configuration per chat
 * subscribed to it. Chatbot only posts here: its role holds no permission and the channel's
 * guardrail is AWSDenyAll, so nobody can run AWS commands from the channel through it.
 */
export class ChatChannels extends Construct {
  readonly topic: SnsTopic;
  readonly role: IamRole;
  readonly slack?: ChatbotSlackChannelConfiguration;
  readonly teams?: ChatbotTeamsChannelConfiguration;

  constructor(scope: Construct, id: string, props: ChatChannelsProps) {
    super(scope, id);
    if (!props.slack && !props.teams) throw new Error('ChatChannels needs a slack or a teams channel');
    if (!/^\d{12}$/.test(props.accountId)) throw new Error(`ChatChannels accountId must be 12 digits, got '${props.accountId}'`);
    const { namePrefix } = props;
    this.topic = new SnsTopic(this, 'topic', { name: chatTopicName(namePrefix), kmsMasterKeyId: props.kmsKeyArn, displayName: 'Deploy Guard (chat)' });
    this.role = new IamRole(this, 'role', {
      name: ownName(namePrefix, 'chatbot'),
      assumeRolePolicy: assumeRolePolicy('chatbot.amazonaws.com', { StringEquals: { 'aws:SourceAccount': props.accountId } }),
      description: 'AWS Chatbot posts Deploy Guard notifications; it may do nothing else',
    });
    const channel = {
      iamRoleArn: this.role.arn,
      snsTopicArns: [this.topic.arn],
      guardrailPolicyArns: [`arn:${awsPartition(props.region)}:iam::aws:policy/AWSDenyAll`],
      loggingLevel: 'ERROR',
    };
    if (props.slack) {
      this.slack = new ChatbotSlackChannelConfiguration(this, 'slack', {
        configurationName: ownName(namePrefix, 'slack'),
        slackTeamId: props.slack.workspaceId,
        slackChannelId: props.slack.channelId,
        ...channel,
      });
    }
    if (props.teams) {
      this.teams = new ChatbotTeamsChannelConfiguration(this, 'teams', {
        configurationName: ownName(namePrefix, 'teams'),
        teamId: props.teams.teamId,
        channelId: props.teams.channelId,
        tenantId: props.teams.tenantId,
        ...channel,
      });
    }
  }
}
