import { CfnOutput, Duration, RemovalPolicy, Stack, Validations, type CfnResource } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { WRITE_OFF_BUCKET_ENV } from '../../lib/adapters/s3/write-off-files.ts';
import { Operations } from '../constructs/operations.ts';
import { stageMaker } from '../constructs/refund-function.ts';
import { failurePath, lambdaStep, validateStep, rejectInput, WorkflowStateMachine, type WorkflowConstruct, type WorkflowDeps } from './common.ts';
import { RunContinuation } from './continuation.ts';
import { pagingMap } from './paging.ts';

/** Must match WRITE_OFF_SEGMENTS in functions/write-off/validate.ts (the items of the Map). */
const MAX_CONCURRENCY = 16;

/**
 * WriteOff (DOMAIN.md workflow 5): selects vouchers and tickets by issue date and/or expiry,
 * simulates by default, writes off for real with a comment, and leaves a text file (run log + S3).
 */
export class WriteOffWorkflow extends Construct implements WorkflowConstruct {
  readonly machine: WorkflowStateMachine;
  readonly files: s3.Bucket;

  constructor(scope: Construct, id: string, deps: WorkflowDeps) {
    super(scope, id);
    // The write-off files operators download; kept when the stack goes (they are evidence).
    const operations = Operations.of(this);
    this.files = new s3.Bucket(this, 'Files', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: operations.key,
      bucketKeyEnabled: true,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: operations.accessLogs(),
      serverAccessLogsPrefix: 'write-off-files/',
      // Current files are kept (evidence), moved to cheaper storage once nobody reads them; replaced versions go after a year.
      lifecycleRules: [
        { id: 'FilesToInfrequentAccess', transitions: [{ storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(90) }] },
        { id: 'ReplacedVersions', noncurrentVersionExpiration: Duration.days(365), abortIncompleteMultipartUploadAfter: Duration.days(7) },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    new CfnOutput(this, 'FilesBucketName', { value: this.files.bucketName, description: 'Write-off files: s3://<bucket>/write-off/<runId>.txt' });

    const fn = stageMaker(this, 'functions/write-off', 'write-off');
    // Reads the vouchers a run names (codes) to refuse unknown ones before anything is written.
    const validateFn = fn('ValidateFn', 'validate.ts', Duration.seconds(30)).bindTable(deps.tables.vouchers, 'vouchers', 'RO');
    const openFn = fn('OpenRunFn', 'open-run.ts', Duration.minutes(5)).bindTable(deps.tables.runs, 'runs', 'RW').bindTable(deps.tables.catalog, 'catalog', 'RO');
    const pageFn = fn('PageFn', 'page.ts', Duration.minutes(5)).bindTable(deps.tables.vouchers, 'vouchers', 'RW').bindTable(deps.tables.runs, 'runs', 'RW');
    const finishFn = fn('FinishRunFn', 'finish-run.ts', Duration.minutes(5), { memorySize: 1024 }).bindTable(deps.tables.runs, 'runs', 'RW');
    // Only PutObject, only under write-off/: the finish stage writes the file and nothing else.
    finishFn.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [this.files.arnForObjects('write-off/*')] }));
    // Writing an SSE-KMS object needs a data key from the bucket's key, nothing more.
    finishFn.addToRolePolicy(new iam.PolicyStatement({ actions: ['kms:GenerateDataKey'], resources: [operations.key.keyArn] }));
    Validations.of(finishFn.role!.node.findChild('DefaultPolicy')).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.files.node.defaultChild as CfnResource)}.Arn>/write-off/*]`,
      reason: 'One object per run under write-off/<runId>.txt; the run id is not known at deploy time.',
    });
    Validations.of(this.files).acknowledge({
      id: 'AwsSolutions::AwsSolutions-S1',
      reason: 'Written only by the FinishRun stage (CloudTrail records it) and read by operators; versioned and retained as evidence.',
    });
    finishFn.addEnvironment(WRITE_OFF_BUCKET_ENV, this.files.bucketName);

    const failed = failurePath(this, deps, 'WriteOff');
    // A run longer than one execution's history allows goes on in the next (continuation.ts).
    const continuation = new RunContinuation(this, deps, { workflow: 'WriteOff', service: 'write-off', failure: failed });

    // 1. Validate the console input; bad input fails here, before anything is written.
    const validate = validateStep(this, 'ValidateWriteOffInput', validateFn);
    rejectInput(this, validate, continuation.resume);

    // 2. Open the run and freeze the exclusion list it decides against.
    const open = lambdaStep(this, 'OpenRun', openFn, {
      payload: { 'runId.$': '$.runId', 'startedAt.$': '$.startedAt', 'input.$': '$.input' },
      resultPath: '$.opened',
    });
    open.addCatch(failed, { errors: ['States.ALL'], resultPath: '$.error' });

    // 3. Every scan segment in parallel, each a paging loop: decide (and write off) pages for a minute a call, loop until done.
    const segments = pagingMap(this, {
      mapId: 'ScanSegments',
      page: { id: 'WriteOffPage', fn: pageFn },
      moreId: 'SegmentDone',
      doneId: 'SegmentFinished',
      keep: ['segment', 'cursor', 'done', 'calls', 'page', ['pages', 'page'], 'selected', 'tallies'],
      itemsPath: '$.segments',
      maxConcurrency: MAX_CONCURRENCY,
      itemSelector: {
        'runId.$': '$.runId',
        'input.$': '$.input',
        'segment.$': '$$.Map.Item.Value',
        'totalSegments.$': '$.totalSegments',
        page: 0,
        selected: 0,
        tallies: {},
        calls: 0,
        'callsLeft.$': '$.continuation.callsLeft',
      },
      resultPath: '$.segmentResults',
    });
    segments.addCatch(failed, { errors: ['States.ALL'], resultPath: '$.error' });

    // 4. Sum the tallies, render and store the file, finish the run with its report.
    const finish = lambdaStep(this, 'FinishRun', finishFn, {
      payload: { 'runId.$': '$.runId', 'startedAt.$': '$.startedAt', 'input.$': '$.input', 'segmentResults.$': '$.segmentResults' },
    });
    finish.addCatch(failed, { errors: ['States.ALL'], resultPath: '$.error' });
    finish.next(new sfn.Succeed(this, 'Done'));
    segments.next(continuation.gate('AfterSegments', { resumeAt: 'ScanSegments', shards: { items: 'segments', results: 'segmentResults', key: 'segment' } }, finish));
    validate.next(continuation.budget()).next(open).next(segments);

    this.machine = new WorkflowStateMachine(this, 'Machine', {
      workflow: 'WriteOff',
      definition: continuation.entry(validate, { ScanSegments: segments }),
      timeout: Duration.hours(6),
    });
    continuation.grant(this.machine);
  }
}
