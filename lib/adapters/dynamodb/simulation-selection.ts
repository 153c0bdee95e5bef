import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import type { SelectedRefund } from '../../core/dispatch.ts';
import { documentClient } from './client.ts';
import { batchPut, queryAll, type Item } from './items.ts';
import { tableName } from './table-names.ts';

/**
 * What a simulation selected, as items of its run (`SEL#<refund id>` beside the run record): the
 * real run is bound to it (functions/dispatch-refunds/check.ts and every page of the pass).
 */
export class SimulationSelection {
  async save(simulationRunId: string, selection: SelectedRefund[]): Promise<void> {
    await batchPut(
      tableName('runs'),
      selection.map((s) => ({ pk: `RUN#${simulationRunId}`, sk: `SEL#${s.id}`, ...s })),
    );
  }

  /** Every refund the simulation selected. */
  async all(simulationRunId: string): Promise<SelectedRefund[]> {
    const list: SelectedRefund[] = [];
    for await (const item of queryAll({
      TableName: tableName('runs'),
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sel)',
      ExpressionAttributeValues: { ':pk': `RUN#${simulationRunId}`, ':sel': 'SEL#' },
      ConsistentRead: true,
    })) {
      list.push({ id: item.id as string, amount: item.amount as number, currency: item.currency as string, status: item.status as string, ...(item.pass ? { pass: item.pass as 'psp' | 'credit' } : {}) });
    }
    return list;
  }

  /** The simulated rows of some refunds (a page checks each refund it touches against the approval). */
  async of(simulationRunId: string, ids: string[]): Promise<Map<string, SelectedRefund>> {
    const result = new Map<string, SelectedRefund>();
    for (let i = 0; i < ids.length; i += 100) {
      let keys: Item[] = ids.slice(i, i + 100).map((id) => ({ pk: `RUN#${simulationRunId}`, sk: `SEL#${id}` }));
      for (let attempt = 0; keys.length > 0; attempt++) {
        const out = await documentClient().send(new BatchGetCommand({ RequestItems: { [tableName('runs')]: { Keys: keys, ConsistentRead: true } } }));
        for (const item of out.Responses?.[tableName('runs')] ?? []) {
          result.set(item.id as string, { id: item.id as string, amount: item.amount as number, currency: item.currency as string, status: item.status as string });
        }
        keys = (out.UnprocessedKeys?.[tableName('runs')]?.Keys ?? []) as Item[];
        if (keys.length > 0) await new Promise((r) => setTimeout(r, 20 * 2 ** Math.min(attempt, 6)));
      }
    }
    return result;
  }
}
