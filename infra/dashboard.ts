import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { METRIC, METRICS_NAMESPACE } from '../functions/commons/metric-names.ts';
import type { Operations } from './constructs/operations.ts';
import type { WorkflowConstruct } from './workflows/common.ts';

/**
 * The operations dashboard: runs per workflow, then what the stages publish (refund outcomes per
 * dispatch pass, the PSP's 429s and unknown outcomes, emails, write-offs).
 */
export function addOperationsDashboard(operations: Operations, workflows: WorkflowConstruct[]): void {
  const machines = workflows.map((w) => w.machine);
  const perWorkflow = (metric: (m: WorkflowConstruct['machine']) => cloudwatch.IMetric) => machines.map(metric);
  // Every outcome key of every pass, whatever the run reports add later.
  const refundsByOutcome = new cloudwatch.MathExpression({
    expression: `SEARCH('{${METRICS_NAMESPACE},service,pass,outcome} MetricName="${METRIC.refunds}"', 'Sum', 3600)`,
    label: '',
    usingMetrics: {},
  });
  operations.dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Runs failed (per workflow)',
      left: perWorkflow((m) => m.stateMachine.metricFailed({ label: m.workflow, statistic: 'Sum' })),
      width: 12,
    }),
    new cloudwatch.GraphWidget({
      title: 'Runs succeeded (per workflow)',
      left: perWorkflow((m) => m.stateMachine.metricSucceeded({ label: m.workflow, statistic: 'Sum' })),
      width: 12,
    }),
  );
  operations.dashboard.addWidgets(
    new cloudwatch.GraphWidget({ title: 'Refunds per dispatch pass and outcome', left: [refundsByOutcome], width: 12 }),
    new cloudwatch.GraphWidget({
      title: 'PSP: rate limited (429) and unknown outcomes',
      left: [operations.metric(METRIC.pspRateLimited, {}, '429 answers'), operations.metric(METRIC.pspUnknown, {}, 'unknown outcomes')],
      width: 12,
    }),
  );
  operations.dashboard.addWidgets(
    new cloudwatch.GraphWidget({ title: 'Customer and agency emails (SendEmails)', left: [operations.metric(METRIC.emailsSent, {}, 'sent'), operations.metric(METRIC.emailsFailed, {}, 'failed')], width: 12 }),
    new cloudwatch.GraphWidget({ title: 'Vouchers and tickets written off', left: [operations.metric(METRIC.writtenOff, {}, 'written off')], width: 12 }),
  );
}
