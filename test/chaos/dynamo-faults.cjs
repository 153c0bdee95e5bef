'use strict';
/**
 * DynamoDB faults for the chaos suite, loaded by the local runtime into every container before
 * the function's bundle (RunnerOptions.preload), as a Lambda layer's wrapper would be: the
 * document client the stages use throws a throttling error before the call (nothing written) or
 * after the call committed (the caller cannot tell it was written). The fault rate and the
 * counts live in shared memory (`data`: Int32Array over a SharedArrayBuffer, see FAULTS in
 * chaos.ts): the rate is DynamoDB's state, not the functions', so the driver changes it while
 * the containers run, and reads what was injected.
 */
const { threadId } = require('node:worker_threads');

const RATE_MICROS = 0;
const SEED = 1;
const BEFORE = 2;
const AFTER = 3;

// lib/core/prng.ts's mulberry32, copied: a preload runs under plain node before the bundle and cannot require TypeScript.
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

module.exports = function installDynamoFaults({ require: requireAsBundle, data }) {
  const shared = new Int32Array(data);
  const { DynamoDBDocumentClient } = requireAsBundle('@aws-sdk/lib-dynamodb');
  const marker = Symbol.for('mass-refund.chaos.dynamoFaults');
  if (DynamoDBDocumentClient.prototype[marker]) return;
  DynamoDBDocumentClient.prototype[marker] = true;
  const random = mulberry32(Atomics.load(shared, SEED) ^ 0x5eed ^ Math.imul(threadId + 1, 0x9e3779b1));
  const throttle = (name) => Object.assign(new Error(`chaos: ${name}`), { name, $fault: 'client', $metadata: {} });
  const send = DynamoDBDocumentClient.prototype.send;
  DynamoDBDocumentClient.prototype.send = async function sendWithFaults(...args) {
    const rate = Atomics.load(shared, RATE_MICROS) / 1e6;
    if (rate > 0 && random() < rate) {
      Atomics.add(shared, BEFORE, 1);
      throw throttle('ProvisionedThroughputExceededException');
    }
    const out = await send.apply(this, args);
    if (rate > 0 && random() < rate / 2) {
      Atomics.add(shared, AFTER, 1);
      throw throttle('ThrottlingException');
    }
    return out;
  };
};
