import { Aspects, type Stack, Validations, type CfnResource, type IAspect } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { IConstruct } from 'constructs';
import { RefundFunction } from './constructs/refund-function.ts';

/** True when every statement on `*` only uses actions with these prefixes (nothing else hides behind the acknowledgment). */
function wildcardOnlyFor(policy: IConstruct, prefixes: string[]): boolean {
  const doc = (policy as iam.Policy).document?.toJSON() as { Statement?: { Action: string | string[]; Resource: unknown }[] } | undefined;
  for (const st of doc?.Statement ?? []) {
    const resources = Array.isArray(st.Resource) ? st.Resource : [st.Resource];
    if (!resources.includes('*')) continue;
    const actions = Array.isArray(st.Action) ? st.Action : [st.Action];
    if (!actions.every((a) => prefixes.some((p) => a.startsWith(p)))) return false;
  }
  return true;
}

const ack = (scope: IConstruct, id: string, reason: string) => Validations.of(scope).acknowledge({ id: `AwsSolutions::AwsSolutions-${id}`, reason });

function arnToken(stack: Stack, resource: IConstruct): string {
  return `<${stack.getLogicalId(resource.node.defaultChild as CfnResource)}.Arn>`;
}

/**
 * The cdk-nag AwsSolutions findings we accept, each with its reason. Computed per resource so a
 * new wildcard that nobody reviewed still fails the check.
 */
export function acknowledgeNagFindings(stack: Stack): void {
  const tables = stack.node.findAll().filter((c): c is dynamodb.Table => c instanceof dynamodb.Table);
  const functions = stack.node.findAll().filter((c): c is lambda.Function => c instanceof lambda.Function);
  for (const fn of functions) {
    ack(fn, 'L1', 'The design fixes Node.js 22 (NODEJS_22_X), the runtime the code and the local runtime are tested with.');
    if (fn.role) {
      ack(fn.role, 'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'Only lets the function write its own CloudWatch logs.');
      const policy = fn.role.node.tryFindChild('DefaultPolicy');
      if (policy) {
        if (wildcardOnlyFor(policy, ['xray:'])) ack(policy, 'IAM5[Resource::*]', 'X-Ray PutTraceSegments/PutTelemetryRecords take no resource-level permissions.');
        for (const table of tables) {
          ack(policy, `IAM5[Resource::${arnToken(stack, table)}/index/*]`, 'Queries on the indexes of a table the function is bound to (bindTable); no other table.');
        }
      }
    }
  }
  for (const machine of stack.node.findAll().filter((c): c is sfn.StateMachine => c instanceof sfn.StateMachine)) {
    const policy = machine.role.node.tryFindChild('DefaultPolicy');
    if (!policy) continue;
    if (wildcardOnlyFor(policy, ['xray:', 'logs:'])) ack(policy, 'IAM5[Resource::*]', 'CloudWatch Logs delivery and X-Ray for the state machine take no resource-level permissions.');
    for (const fn of functions) {
      if (fn instanceof RefundFunction || fn instanceof lambda.Function) {
        ack(policy, `IAM5[Resource::${arnToken(stack, fn)}:*]`, 'lambda:InvokeFunction on the versions/aliases of the stage functions this workflow calls.');
      }
    }
  }
  for (const secret of stack.node.findAll().filter((c): c is secretsmanager.Secret => c instanceof secretsmanager.Secret)) {
    ack(secret, 'SMG4', 'Datatrans credentials are rotated in Datatrans merchant administration and set by the operator; no rotation function can do it.');
  }
}

/** Runs the acknowledgments at synthesis, after every construct (and every grant) exists. */
export function acknowledgeNagFindingsAtSynth(stack: Stack): void {
  let done = false;
  const aspect: IAspect = {
    visit(node) {
      if (node !== stack || done) return;
      done = true;
      acknowledgeNagFindings(stack);
    },
  };
  Aspects.of(stack).add(aspect);
}
