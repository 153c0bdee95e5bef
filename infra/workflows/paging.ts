import type { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { RefundFunction } from '../constructs/refund-function.ts';
import { lambdaStep } from './common.ts';

export interface PagingMapProps {
  /** The Map state, one iteration a shard (or scan segment). */
  mapId: string;
  /** The page call: takes pages for up to a minute, returns the shard's state with `done` and `pause`. */
  page: { id: string; fn: RefundFunction; timeout?: Duration };
  /** The Choice after each call, and the Pass that ends a shard with the fields its result keeps. */
  moreId: string;
  doneId: string;
  /** Fields of a finished shard in the Map's results: a name, or [name, path] to rename. */
  keep: (string | [string, string])[];
  itemsPath: string;
  itemSelector: Record<string, unknown>;
  resultPath: string;
  maxConcurrency?: number;
}

/**
 * The paging loop every paged workflow runs: a Map over shards, each calling its page function
 * until the shard is done or pauses (its calls in this execution spent: lib/core/continuation.ts).
 */
export function pagingMap(scope: Construct, props: PagingMapProps): sfn.Map {
  const page = lambdaStep(scope, props.page.id, props.page.fn, props.page.timeout ? { timeout: props.page.timeout } : {});
  const kept = props.keep.map((k) => (typeof k === 'string' ? [k, k] : k));
  const done = new sfn.Pass(scope, props.doneId, { parameters: Object.fromEntries(kept.map(([name, path]) => [`${name}.$`, `$.${path}`])) });
  const more = new sfn.Choice(scope, props.moreId)
    .when(sfn.Condition.or(sfn.Condition.booleanEquals('$.done', true), sfn.Condition.booleanEquals('$.pause', true)), done)
    .otherwise(page);
  return new sfn.Map(scope, props.mapId, {
    itemsPath: props.itemsPath,
    maxConcurrency: props.maxConcurrency ?? 16,
    itemSelector: props.itemSelector,
    resultPath: props.resultPath,
  }).itemProcessor(page.next(more));
}
