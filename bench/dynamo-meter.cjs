'use strict';
/**
 * The bench's DynamoDB meter, installed in the bench process and, by the local runtime, in every
 * Lambda container before the function's bundle (RunnerOptions.preload): each call of the
 * document client asks DynamoDB Local for ReturnConsumedCapacity and adds what it reports to
 * counters in shared memory (`data`: a SharedArrayBuffer, see bench/meter.ts), so one meter sees
 * the import, the raw baseline and every stage in every container.
 */
const WRITE_HALVES = 0;
const READ_HALVES = 1;
const ITEMS_WRITTEN = 2;
const REQUESTS = 3;

const READS = /^(Get|GetItem|Query|Scan|BatchGet|BatchGetItem|TransactGet|TransactGetItems)Command$/;
const WRITES = /^(Put|PutItem|Update|UpdateItem|Delete|DeleteItem|BatchWrite|BatchWriteItem|TransactWrite|TransactWriteItems)Command$/;

function itemsOf(command, input) {
  if (command.startsWith('TransactWrite')) return (input.TransactItems ?? []).filter((a) => a.Put || a.Update || a.Delete).length;
  if (command.startsWith('BatchWrite')) return Object.values(input.RequestItems ?? {}).reduce((s, list) => s + list.length, 0);
  return 1;
}

module.exports = function installDynamoMeter({ require: requireAsBundle, data }) {
  const counts = new Int32Array(data);
  const { DynamoDBDocumentClient } = requireAsBundle('@aws-sdk/lib-dynamodb');
  const marker = Symbol.for('mass-refund.bench.dynamoMeter');
  if (DynamoDBDocumentClient.prototype[marker]) return;
  DynamoDBDocumentClient.prototype[marker] = true;
  const send = DynamoDBDocumentClient.prototype.send;
  DynamoDBDocumentClient.prototype.send = async function sendMetered(command, ...rest) {
    const name = command?.constructor?.name ?? '';
    const read = READS.test(name);
    const write = WRITES.test(name);
    const input = command?.input ?? {};
    if (read || write) input.ReturnConsumedCapacity ??= 'TOTAL';
    if (write) Atomics.add(counts, ITEMS_WRITTEN, itemsOf(name, input));
    const result = await send.call(this, command, ...rest);
    Atomics.add(counts, REQUESTS, 1);
    const consumed = result?.ConsumedCapacity;
    let units = 0;
    for (const c of Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) units += c.CapacityUnits ?? 0;
    const halves = Math.round(units * 2);
    if (read) Atomics.add(counts, READ_HALVES, halves);
    else if (write) Atomics.add(counts, WRITE_HALVES, halves);
    return result;
  };
};
