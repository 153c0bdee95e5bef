import { ArnFormat, Aws, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../../functions/commons/metric-names.ts';
import { accessLogBucketOf, alarmEmailOf } from '../settings.ts';


/**
 * What operating the stack needs, once per stack: the customer-managed KMS key that encrypts the
 * logs, the write-off files and the alarm topic; the SNS topic every alarm notifies; the dashboard.
 */
export class Operations extends Construct {
  readonly key: kms.Key;
  readonly alarmTopic: sns.Topic;
  readonly dashboard: cloudwatch.Dashboard;

  /** The stack's Operations, created on first use. */
  static of(scope: Construct): Operations {
    const stack = Stack.of(scope);
    return (stack.node.tryFindChild('Operations') as Operations | undefined) ?? new Operations(stack, 'Operations');
  }

  private constructor(scope: Construct, id: string) {
    super(scope, id);
    const stack = Stack.of(this);
    this.key = new kms.Key(this, 'Key', {
      description: 'mass-refund: logs, write-off files and alarm notifications',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Grants on the key only for AWS services acting for this account (Control Tower CT.KMS.PR.3).
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'GrantsOnlyForAwsResources',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:CreateGrant'],
        resources: ['*'],
        conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
      }),
    );
    // CloudWatch Logs encrypts this stack's log groups, and only those.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'LogGroupsOfThisAccount',
        principals: [new iam.ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) } },
      }),
    );
    // Alarms publish to the encrypted topic.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );

    this.alarmTopic = new sns.Topic(this, 'Alarms', { displayName: 'mass-refund alarms', masterKey: this.key, enforceSSL: true });
    const email = alarmEmailOf(this);
    if (email) this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(email));

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: `${stack.stackName}-operations`, defaultInterval: Duration.days(1) });
  }

  #accessLogs: s3.IBucket | undefined;

  /**
   * Where the stack's buckets send their server access logs: the bucket named by context
   * mass-refund:accessLogBucket (in a Control Tower landing zone, the log archive's), else a bucket
   * of this stack, encrypted with the stack's key and expiring logs after a year. Its own access
   * logs stay in it under self/ (a chain of log buckets has to end somewhere), kept 30 days.
   */
  accessLogs(): s3.IBucket {
    if (this.#accessLogs) return this.#accessLogs;
    const name = accessLogBucketOf(this);
    if (name) {
      this.#accessLogs = s3.Bucket.fromBucketName(this, 'AccessLogs', name);
      return this.#accessLogs;
    }
    const bucket = new s3.Bucket(this, 'AccessLogs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsPrefix: 'self/',
      lifecycleRules: [
        { id: 'AccessLogsKeptAYear', expiration: Duration.days(365), noncurrentVersionExpiration: Duration.days(30), abortIncompleteMultipartUploadAfter: Duration.days(7) },
        { id: 'OwnAccessLogs', prefix: 'self/', expiration: Duration.days(30) },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // S3 log delivery writes with the stack's key.
    this.key.grantEncryptDecrypt(new iam.ServicePrincipal('logging.s3.amazonaws.com'));
    this.#accessLogs = bucket;
    return bucket;
  }

  /** A log group kept a year, encrypted with the stack's key (Control Tower CT.CLOUDWATCH.PR.2, PR.3). */
  logGroup(scope: Construct, id: string): logs.LogGroup {
    return new logs.LogGroup(scope, id, { retention: logs.RetentionDays.ONE_YEAR, encryptionKey: this.key, removalPolicy: RemovalPolicy.RETAIN });
  }

  /** Every alarm notifies the alarm topic. */
  notify(alarm: cloudwatch.Alarm): void {
    alarm.addAlarmAction(new cwActions.SnsAction(this.alarmTopic));
  }

  /** A custom metric the stages emit (EMF, namespace MassRefund). */
  metric(metricName: string, dimensions: Record<string, string> = {}, label?: string): cloudwatch.Metric {
    return new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service: 'mass-refund', ...dimensions }, statistic: 'Sum', period: Duration.hours(1), ...(label ? { label } : {}) });
  }
}
