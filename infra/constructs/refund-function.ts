import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, type CfnResource } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Construct } from 'constructs';
import { TABLE_ENV, type TableKey } from '../../lib/adapters/dynamodb/table-names.ts';
import { Operations } from './operations.ts';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The AWS SDK, which the Lambda runtime provides, loads on first use instead of at init: the
 * bundle's `require("@aws-sdk/…")` gets a stand-in that requires the module when one of its members
 * is first read (esbuild reads `sdk.GetCommand` where the code uses it). A cold start then pays for
 * the bundle alone (DynamoDB's client and document client took 90-170 ms of a 120-290 ms init), and
 * an invocation for the SDK modules it uses, once per container.
 */
const LOAD_AWS_SDK_ON_FIRST_USE = [
  '"use strict";',
  'var require=((load,loaded=new Map())=>id=>{',
  'if(!id.startsWith("@aws-sdk/"))return load(id);',
  'let m=loaded.get(id);',
  'if(!m){let real;const sdk=()=>real??=load(id);',
  'm=new Proxy({},{get:(_,k)=>sdk()[k],has:(_,k)=>k in sdk(),ownKeys:()=>Reflect.ownKeys(sdk()),',
  'getOwnPropertyDescriptor:(_,k)=>{const d=Reflect.getOwnPropertyDescriptor(sdk(),k);return d&&{...d,configurable:true}},',
  'getPrototypeOf:()=>Reflect.getPrototypeOf(sdk())});loaded.set(id,m)}',
  'return m})(require);',
].join('');

export interface RefundFunctionProps extends Partial<NodejsFunctionProps> {
  /** Handler module relative to the project root, e.g. `functions/cancel-performance/validate.ts`. */
  readonly entry: string;
  /** Workflow the stage belongs to (a tag; all stages log as service mass-refund, since they share one process locally). */
  readonly service: string;
}

/**
 * A Lambda function with the project's defaults in one place (Node 22, arm64, tracing,
 * source maps, own log group kept a year and encrypted) and least-privilege table binding.
 * Its handler module is recorded as metadata so the local runner can call it in-process.
 */
export class RefundFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: RefundFunctionProps) {
    const logGroup = Operations.of(scope).logGroup(scope, `${id}Logs`);
    super(scope, id, {
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 512,
      timeout: Duration.seconds(60),
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      ...props,
      entry: path.join(PROJECT_ROOT, props.entry),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'mass-refund',
        POWERTOOLS_METRICS_NAMESPACE: 'MassRefund',
        ...props.environment,
      },
      bundling: {
        // CommonJS: the runtime's SDK is CommonJS, and requiring it from a CommonJS bundle skips the
        // ESM loader's interop; measured 60-70 ms less cold init than the same bundle as ESM (bench/README.md).
        format: OutputFormat.CJS,
        // No keepNames: error names are string literals (lib/core/errors.ts) and the source maps give
        // files, lines and names in traces; keepNames cost 10 KB and ~9 ms of init (dispatch page).
        minify: true,
        // Stack traces in CloudWatch name our files, lines and functions; the sources stay out of the
        // map (a third of its parse at init).
        sourceMap: true,
        sourcesContent: false,
        banner: LOAD_AWS_SDK_ON_FIRST_USE,
        target: 'node22',
        mainFields: ['module', 'main'],
        externalModules: ['@aws-sdk/*'],
        ...props.bundling,
      },
    });
    (this.node.defaultChild as CfnResource).addMetadata('mass-refund:handler', { entry: props.entry, handler: 'handler' });
  }

  /** Grants exactly read or read-write on a table (and its indexes) and sets its name variable. */
  bindTable(table: ITable, key: TableKey, access: 'RO' | 'RW'): this {
    if (access === 'RO') table.grantReadData(this);
    else table.grantReadWriteData(this);
    this.addEnvironment(TABLE_ENV[key], table.tableName);
    return this;
  }
}

/** The stages of one workflow: their handlers' folder and service tag; each stage its id, file, timeout and any other props. */
export function stageMaker(scope: Construct, dir: string, service: string) {
  return (id: string, entry: string, timeout: Duration, props: Partial<RefundFunctionProps> = {}) => new RefundFunction(scope, id, { entry: `${dir}/${entry}`, service, timeout, ...props });
}
