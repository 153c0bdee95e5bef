/**
 * Chaos suite: dispatches refunds through the synthesized DispatchRefunds/ReconcileRefunds state
 * machines while the PSP sandbox injects every fault it has (including a gateway's: bookings behind
 * a 5xx or an HTML 502 for new and replayed keys, an outage window, keys forgotten after a few
 * seconds, slow bookings, 409s, over-refund refusals against the settled amount, back-office
 * credits, DUPLICATE_REFNO), stages crash between the PSP answer and our write, DynamoDB calls fail
 * with throttling (before the call, or after it committed), executions are killed mid-run, and two
 * PSP passes race over the same range. Then it reconciles and re-runs until done and counts what
 * must be zero: double refunds, lost refunds, refunds both paid and credited, ledger mismatches,
 * payments whose money did not come back exactly once.
 *
 *   npm run chaos -- --refunds 10000 --seed 42
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { scanAll } from '../../lib/adapters/dynamodb/items.ts';
import { tableName } from '../../lib/adapters/dynamodb/table-names.ts';
import { refnoFor } from '../../lib/adapters/psp/port.ts';
import { mulberry32 } from '../../lib/local/psp-sandbox/faults.ts';
import type { FaultRule, PspSandbox } from '../../lib/local/psp-sandbox/index.ts';
import type { ExecutionResult, LocalRunner, PreloadHook } from '../../lib/local/runner.ts';
import { seedOneTicketRefunds, type OneTicketRefund } from '../support/one-ticket-refunds.ts';

export interface ChaosOptions {
  refunds: number;
  seed: number;
  runner: LocalRunner;
  sandbox: PspSandbox;
  /** Rounds of dispatch + reconcile under faults before the clean final pass. */
  maxRounds?: number;
  log?: (line: string) => void;
}

export interface ChaosSummary {
  seed: number;
  refunds: number;
  durationSeconds: number;
  rounds: number;
  executions: Record<string, number>;
  pspRequests: number;
  pspRequestsByKind: Record<string, number>;
  faultsInjected: Record<string, number>;
  crashedRuns: number;
  killedRuns: number;
  backOfficeCredits: number;
  outcomes: Record<string, number>;
  doubleRefunds: number;
  lostRefunds: number;
  paidAndCredited: number;
  ledgerMismatches: number;
  /** Payments whose money (our PSP credits + credit-account entries) is not what their refunds owe. */
  moneyMismatches: number;
  examples: string[];
}

const FROM = '2026-06-01';
const TO = '2026-06-02';

/**
 * Every fault the sandbox has except 401 (which stops a run by design: its own scenario below), and
 * an outage window in which the load balancer answers every credit request (new and replayed keys)
 * with an HTML 502 although the backend books it.
 */
function pspFaults(outage: { from: string; until: string } | null): FaultRule[] {
  return [
    ...(outage ? [{ ...outage, keys: 'any' as const, fault: { kind: 'booked_then_5xx' as const, status: 502, html: true } }] : []),
    { probability: 0.03, fault: { kind: 'decline', code: 'EXPIRED_CARD', message: 'card expired' } },
    { probability: 0.005, fault: { kind: 'decline', code: 'DUPLICATE_REFNO', message: 'a transaction with this refno exists already' } },
    { probability: 0.03, fault: { kind: 'booked_then_5xx', status: 502, html: true } },
    { probability: 0.01, fault: { kind: 'booked_then_5xx', status: 500 } },
    { keys: 'replayed', probability: 0.3, fault: { kind: 'booked_then_5xx', status: 502, html: true } },
    { probability: 0.01, fault: { kind: 'slow_commit', ms: 1_200 } },
    { probability: 0.01, fault: { kind: 'key_in_flight' } },
    { probability: 0.03, fault: { kind: 'http_5xx', status: 503 } },
    { probability: 0.01, fault: { kind: 'http_5xx', status: 500 } },
    { probability: 0.02, fault: { kind: 'rate_limited', retryAfterSeconds: 0 } },
    { probability: 0.01, fault: { kind: 'rate_limited', retryAfterSeconds: 1 } },
    { probability: 0.03, fault: { kind: 'latency', ms: 40 } },
    { probability: 0.015, fault: { kind: 'timeout_before_commit', ms: 1_500 } },
    { probability: 0.015, fault: { kind: 'timeout_after_commit', ms: 1_500 } },
    { probability: 0.015, fault: { kind: 'connection_reset' } },
    { probability: 0.015, fault: { kind: 'connection_reset', afterCommit: true } },
    { probability: 0.02, fault: { kind: 'malformed_json' } },
    { probability: 0.02, fault: { kind: 'late_failure' } },
    { endpoint: 'status', probability: 0.05, fault: { kind: 'http_5xx', status: 502 } },
    { endpoint: 'status', probability: 0.02, fault: { kind: 'connection_reset' } },
    { endpoint: 'status', probability: 0.02, fault: { kind: 'malformed_json' } },
    { endpoint: 'status', probability: 0.02, fault: { kind: 'timeout_before_commit', ms: 1_500 } },
  ];
}

/**
 * DynamoDB faults, injected by test/chaos/dynamo-faults.cjs into the document client of every
 * Lambda container (the runner's preload): throttling before the call (nothing written), or a
 * throttling error after the call committed (the caller cannot tell it was written). Rate and
 * counts are in memory the containers share: [rate in millionths, seed, before, after].
 */
const FAULTS = new Int32Array(new SharedArrayBuffer(4 * Int32Array.BYTES_PER_ELEMENT));
export const dynamoFaults = {
  set rate(rate: number) {
    Atomics.store(FAULTS, 0, Math.round(rate * 1e6));
  },
  get before(): number {
    return Atomics.load(FAULTS, 2);
  },
  get after(): number {
    return Atomics.load(FAULTS, 3);
  },
};
/** What the runner running the chaos suite must preload into its containers. */
export function chaosPreload(seed: number): PreloadHook {
  Atomics.store(FAULTS, 1, seed);
  return { module: fileURLToPath(new URL('./dynamo-faults.cjs', import.meta.url)), data: FAULTS.buffer };
}

type RefundSpec = OneTicketRefund;

/** Orders whose payment the back office partly credited before the dispatch: our credit exceeds what is left. */
const backOfficeBefore = (i: number) => i % 50 === 7;
/** Orders paid twice their refund, the back office crediting the same amount as ours (before, or during the rounds). */
const backOfficeSameAmount = (i: number) => i % 50 === 17;
const backOfficeDuring = (i: number) => i % 50 === 27;

/**
 * Orders with one refund each, every tenth card order with two partial refunds on one transaction;
 * a third of the payments (and the back-office ones) would take a second credit, so a double refund
 * would be booked, not hidden by an over-refund refusal.
 */
function seed(n: number, sandbox: PspSandbox): Promise<RefundSpec[]> {
  const customer = (i: number) => ({ name: `Chaos Customer ${i}`, email: `chaos${i}@example.org`, language: 'de' });
  const keptFee = (i: number, amount: number) => (backOfficeSameAmount(i) || backOfficeDuring(i) ? amount : i % 3 === 0 ? 500 : 0);
  return seedOneTicketRefunds(n, { performanceId: 'P-CHAOS', performanceName: 'Chaos match', txPrefix: '27', day: FROM, customer, twoPartRefunds: true, keptFee }, sandbox);
}
const orderIndex = (s: RefundSpec) => Number(s.orderId.slice(1));

interface StoredRefundRow {
  id: string;
  status: string;
  amount: number;
  pspCreditTransactionId?: string | null;
}

async function allRefunds(): Promise<StoredRefundRow[]> {
  const rows: StoredRefundRow[] = [];
  for await (const item of scanAll(tableName('refunds'), { filter: 'begins_with(pk, :p)', values: { ':p': 'REFUND#' } })) rows.push(item as unknown as StoredRefundRow);
  return rows;
}

async function creditedRefundIds(): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const item of scanAll(tableName('creditAccounts'))) {
    const sk = String(item.sk ?? '');
    if (sk.startsWith('ENTRY#')) ids.add(sk.slice('ENTRY#'.length));
  }
  return ids;
}

const TERMINAL = new Set(['refunded', 'credited', 'returned_to_account', 'manual']);

export async function runChaos(opts: ChaosOptions): Promise<ChaosSummary> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const t0 = performance.now();
  const random = mulberry32(opts.seed);
  const { runner, sandbox } = opts;
  const executions: Record<string, number> = {};
  let crashedRuns = 0;
  let killedRuns = 0;
  let n = 0;
  // Short lease, PSP time-out and reconciliation margin so abandoned claims and time-outs resolve within the run;
  // the sandbox forgets keys after 3 s: resending a request that may have booked would book twice.
  // A refund the PSP's records cannot settle goes to a person after 5 s (a night in production).
  await runner.configure({
    environment: {
      MASS_REFUND_SENDING_LEASE_SECONDS: '3',
      MASS_REFUND_PSP_TIMEOUT_MS: '1000',
      MASS_REFUND_RECONCILE_MARGIN_SECONDS: '2',
      MASS_REFUND_UNCLEAR_TO_MANUAL_SECONDS: '5',
      DISPATCH_PSP_TRIES: '4',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
    },
  });
  sandbox.configure({ keyTtlMs: 3_000, uniqueRefno: true });
  // Crash points are read by the dispatch page stage (functions/commons/chaos.ts) from its environment.
  const dispatchPage = (fn: { entry: string }) => fn.entry === 'functions/dispatch-refunds/page.ts';

  const start = async (workflow: string, input: Record<string, unknown>, kill = false): Promise<ExecutionResult> => {
    const name = `chaos-${opts.seed}-${workflow}-${n++}`;
    const abort = new AbortController();
    const timer = kill ? setTimeout(() => abort.abort(), 200 + Math.floor(random() * 3_000)) : undefined;
    const result = await runner.start(workflow, input, { name, signal: abort.signal }).finally(() => clearTimeout(timer));
    const key = `${workflow}:${result.status}${result.error ? `:${result.error}` : ''}`;
    executions[key] = (executions[key] ?? 0) + 1;
    if (result.error === 'InjectedCrash') crashedRuns++;
    if (result.status === 'ABORTED') killedRuns++;
    return result;
  };
  // New containers count from zero: the budget is per container, as a crash would be.
  const crashAfter = (passes: number) => runner.configure({ environment: { MASS_REFUND_CHAOS: JSON.stringify({ 'dispatch.afterPspAnswer': passes }) } }, dispatchPage);
  const calm = async () => {
    await runner.configure({ environment: { MASS_REFUND_CHAOS: undefined } }, dispatchPage);
    dynamoFaults.rate = 0;
    sandbox.configureFaults({ rules: [] });
  };
  const range = { from: FROM, to: TO, requestedBy: 'chaos' };
  const simulate = async () => {
    const sim = await start('DispatchRefunds', { mode: 'simulate', ...range });
    return sim.status === 'SUCCEEDED' ? (sim.output as { runId: string }).runId : null;
  };

  const specs = await seed(opts.refunds, sandbox);
  log(`chaos: seed ${opts.seed}, ${specs.length} pending refunds (${specs.filter((s) => s.tx).length} to the PSP) written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  // The back office credits some payments before the dispatch: part of one (our credit is then refused), or as much as ours.
  let backOfficeCredits = 0;
  const onTransactions = (pick: (i: number) => boolean) => [...new Map(specs.filter((s) => s.tx && pick(orderIndex(s))).map((s) => [s.tx as string, s])).values()];
  for (const s of onTransactions(backOfficeBefore)) (sandbox.adminCredit(s.tx as string, 100), backOfficeCredits++);
  for (const s of onTransactions(backOfficeSameAmount)) (sandbox.adminCredit(s.tx as string, s.amount), backOfficeCredits++);

  // Scenario 401: wrong credentials stop the PSP pass; nothing is lost, the next run goes on.
  await calm();
  sandbox.configureFaults({ seed: opts.seed, rules: [{ endpoint: 'any', fault: { kind: 'unauthorized' } }] });
  const sim401 = await simulate();
  if (sim401) await start('DispatchRefunds', { mode: 'psp', ...range, simulationRunId: sim401 });
  log(`chaos: 401 scenario ${JSON.stringify(executions)}`);

  const maxRounds = opts.maxRounds ?? 8;
  let rounds = 0;
  for (; rounds < maxRounds; rounds++) {
    await calm(); // simulate without injected faults
    const open = (await allRefunds()).filter((r) => !TERMINAL.has(r.status)).length;
    if (open === 0) break;
    const simId = await simulate();
    if (!simId) continue;
    // The first two rounds have an outage window a few seconds in.
    const outage = rounds < 2 ? { from: new Date(Date.now() + 1_000).toISOString(), until: new Date(Date.now() + 4_000).toISOString() } : null;
    sandbox.configureFaults({ seed: opts.seed + rounds, rules: pspFaults(outage) });
    dynamoFaults.rate = 0.002;
    // Crash after a random number of PSP answers in a container (a pass spreads over up to 16, one
    // per shard); every later answer in that container crashes too until reset.
    await crashAfter(Math.floor((random() * Math.max(50, open / 2)) / 16));
    // Two PSP passes over the same range race; one of them may be killed mid-run.
    const killOne = random() < 0.5;
    await Promise.all([
      start('DispatchRefunds', { mode: 'psp', ...range, simulationRunId: simId }),
      start('DispatchRefunds', { mode: 'psp', ...range, simulationRunId: simId }, killOne),
    ]);
    await crashAfter(1_000_000_000);
    await start('DispatchRefunds', { mode: 'credit', ...range, simulationRunId: simId });
    await start('ReconcileRefunds', { requestedBy: 'chaos' });
    if (rounds === 0) for (const s of onTransactions(backOfficeDuring)) (sandbox.adminCredit(s.tx as string, s.amount), backOfficeCredits++);
    const stats = sandbox.stats();
    log(`chaos: round ${rounds + 1} (${open} open before) in ${((performance.now() - t0) / 1000).toFixed(0)} s; faults ${JSON.stringify(stats.faultsInjected)}`);
  }

  // Final: no faults; until nothing is open (bounded): wait out the leases, reconcile, dispatch again.
  // A reconcile can send a refund back to pending (not credited) or failed (late failure), so the
  // passes run again after it; a slow machine may need more than one lease period.
  await calm();
  for (let final = 0; final < 6; final++) {
    await new Promise((r) => setTimeout(r, 3_500));
    await start('ReconcileRefunds', { requestedBy: 'chaos-final' });
    const finalSim = await simulate();
    if (finalSim) {
      await start('DispatchRefunds', { mode: 'psp', ...range, simulationRunId: finalSim });
      await start('DispatchRefunds', { mode: 'credit', ...range, simulationRunId: finalSim });
    }
    await start('ReconcileRefunds', { requestedBy: 'chaos-final' });
    const open = (await allRefunds()).filter((r) => !TERMINAL.has(r.status)).length;
    if (open === 0) break;
    log(`chaos: final round ${final + 1}: ${open} still open`);
  }

  // Count.
  const refunds = await allRefunds();
  const credited = await creditedRefundIds();
  const ledger = sandbox.ledger().filter((c) => c.source === 'api'); // back-office credits are never ours
  const booked = new Map<string, typeof ledger>();
  for (const c of ledger.filter((c) => c.status === 'booked')) booked.set(c.refno, [...(booked.get(c.refno) ?? []), c]);
  const byRefno = new Map(refunds.map((r) => [refnoFor(r.id), r]));
  const examples: string[] = [];
  const note = (what: string) => examples.length < 10 && examples.push(what);

  let doubleRefunds = 0;
  for (const [refno, credits] of booked) if (credits.length > 1) (doubleRefunds++, note(`double: ${refno} booked ${credits.length}x`));
  // Manual is an end only where a person must decide: the back office took money back before us, or the PSP's records
  // truly cannot tell (our credit failed after booking, its answer lost, and a back-office credit of the same amount
  // on the payment could be the one that failed). Anywhere else it is lost.
  const specOf = new Map(specs.map((s) => [s.id, s]));
  const allCredits = sandbox.ledger();
  const undecidable = (r: StoredRefundRow) => {
    const s = specOf.get(r.id) as RefundSpec;
    const onTx = allCredits.filter((c) => c.transactionId === s.tx);
    const oursFailed = onTx.filter((c) => c.source === 'api' && c.status === 'failed' && c.refno === refnoFor(r.id));
    return oursFailed.some((f) => onTx.some((c) => c.source === 'admin' && c.amount.amount === f.amount.amount));
  };
  const manualExpected = (r: StoredRefundRow) => {
    if (r.status !== 'manual') return false;
    const note = String(((r as unknown as { manual?: { note?: string } }).manual?.note) ?? '');
    return backOfficeBefore(orderIndex(specOf.get(r.id) as RefundSpec)) || (note.includes('cannot tell') && undecidable(r));
  };
  const lost = refunds.filter((r) => !TERMINAL.has(r.status) || (r.status === 'manual' && !manualExpected(r)));
  for (const r of lost.slice(0, 3)) {
    const x = r as unknown as Record<string, unknown>;
    note(`lost: ${r.id} ${r.status} (${String(x.pspUnknownReason ?? x.lastReleaseReason ?? '')}; attempt ${String(x.attempt)}, refusal ${String(x.refusal ?? '-')})`);
  }
  let paidAndCredited = 0;
  for (const r of refunds) {
    const paid = booked.has(refnoFor(r.id));
    if (paid && (credited.has(r.id) || r.status === 'credited')) (paidAndCredited++, note(`paid and credited: ${r.id}`));
  }
  let ledgerMismatches = 0;
  for (const r of refunds.filter((r) => r.status === 'refunded')) {
    const credits = booked.get(refnoFor(r.id)) ?? [];
    const ok = credits.length === 1 && credits[0]!.amount.amount === r.amount && (!r.pspCreditTransactionId || credits[0]!.creditTransactionId === r.pspCreditTransactionId);
    if (!ok) {
      ledgerMismatches++;
      const all = ledger.filter((c) => c.refno === refnoFor(r.id)).map((c) => `${c.creditTransactionId}:${c.status}:${c.amount.amount}`);
      note(`ours refunded (${r.amount}, credit ${r.pspCreditTransactionId ?? '-'}, ${JSON.stringify((r as { history?: unknown }).history ?? null)}), sandbox booked ${credits.length}, all credits [${all.join(', ')}]: ${r.id}`);
    }
  }
  for (const [refno] of booked) {
    const r = byRefno.get(refno);
    if (r?.status !== 'refunded') (ledgerMismatches++, note(`sandbox credit ${refno}, ours ${r?.status ?? 'missing'}`));
  }
  // Money: for every payment, our PSP credits plus credit-account entries equal what its refunds owe (manual ones: a person's).
  let moneyMismatches = 0;
  const byPayment = new Map<string, StoredRefundRow[]>();
  for (const r of refunds) {
    const s = specOf.get(r.id) as RefundSpec;
    const key = s.tx ?? s.orderId;
    byPayment.set(key, [...(byPayment.get(key) ?? []), r]);
  }
  const pspByTransaction = new Map<string, number>();
  for (const c of ledger.filter((c) => c.status === 'booked')) pspByTransaction.set(c.transactionId, (pspByTransaction.get(c.transactionId) ?? 0) + c.amount.amount);
  for (const [key, rs] of byPayment) {
    const owed = rs.filter((r) => r.status !== 'manual').reduce((t, r) => t + r.amount, 0);
    const atPsp = pspByTransaction.get(key) ?? 0;
    const onAccount = rs.filter((r) => credited.has(r.id)).reduce((t, r) => t + r.amount, 0);
    if (atPsp + onAccount !== owed) (moneyMismatches++, note(`money: payment ${key} owed ${owed}, back ${atPsp} at the PSP + ${onAccount} credited`));
  }
  const outcomes: Record<string, number> = {};
  for (const r of refunds) outcomes[r.status] = (outcomes[r.status] ?? 0) + 1;
  const stats = sandbox.stats();
  const pspRequests = Object.values(stats.requests).reduce((a, b) => a + b, 0);

  return {
    seed: opts.seed,
    refunds: refunds.length,
    durationSeconds: Math.round((performance.now() - t0) / 100) / 10,
    rounds,
    executions,
    pspRequests,
    pspRequestsByKind: stats.requests,
    faultsInjected: {
      ...(stats.faultsInjected as Record<string, number>),
      idempotency_409_in_flight: stats.inFlightConflicts,
      idempotency_422_body_mismatch: stats.bodyMismatches,
      idempotent_replays: stats.idempotentReplays,
      over_refunds_refused: stats.overRefundsRefused,
      duplicate_refnos_refused: stats.duplicateRefnosRefused,
      dynamodb_throttle_before_call: dynamoFaults.before,
      dynamodb_throttle_after_commit: dynamoFaults.after,
    },
    crashedRuns,
    killedRuns,
    backOfficeCredits,
    outcomes,
    doubleRefunds,
    lostRefunds: lost.length,
    paidAndCredited,
    ledgerMismatches,
    moneyMismatches,
    examples,
  };
}

/** The numbers that must be zero. */
export function zeros(s: ChaosSummary): boolean {
  return s.doubleRefunds === 0 && s.lostRefunds === 0 && s.paidAndCredited === 0 && s.ledgerMismatches === 0 && s.moneyMismatches === 0;
}

async function main(): Promise<number> {
  const arg = (name: string, fallback: number) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : fallback;
  };
  const refunds = arg('refunds', 10_000);
  const seedValue = arg('seed', Date.now() % 1_000_000);
  const { applyEnvironment, localEnvironment } = await import('../../lib/local/env.ts');
  const { runnerForLocalRuntime } = await import('../../lib/local/local-runner.ts');
  const { startPspSandbox } = await import('../../lib/local/psp-sandbox/index.ts');
  const { startDynamoDbLocal, startSesLocal } = await import('../../lib/local/services.ts');
  const { synthesizeTemplate } = await import('../../lib/local/synth.ts');
  const { ensureTables } = await import('../../lib/local/tables.ts');

  process.stderr.write(`chaos: seed ${seedValue} (replay: npm run chaos -- --refunds ${refunds} --seed ${seedValue})\n`);
  const dynamodb = await startDynamoDbLocal({ detached: false });
  const ses = await startSesLocal({ detached: false });
  const sandbox = await startPspSandbox({ port: 0, seed: seedValue });
  try {
    const prefix = `chaos${seedValue}-`;
    const env = localEnvironment({ dynamodb: dynamodb.url, ses: ses.url, psp: sandbox.url }, prefix);
    applyEnvironment(env);
    const synth = await synthesizeTemplate();
    const client = new DynamoDBClient({ endpoint: dynamodb.url });
    await ensureTables(client, synth.template, prefix);
    const runner = runnerForLocalRuntime({ synth, tablePrefix: prefix, env: { ...env, POWERTOOLS_LOG_LEVEL: 'ERROR' }, preload: [chaosPreload(seedValue)] });
    const summary = await runChaos({ refunds, seed: seedValue, runner, sandbox }).finally(() => runner.close());
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    process.stderr.write(`chaos: ${zeros(summary) ? 'all five numbers zero' : 'NOT ZERO'} (seed ${seedValue}, ${summary.durationSeconds} s)\n`);
    return zeros(summary) ? 0 : 1;
  } finally {
    await sandbox.stop();
    dynamodb.child.kill('SIGTERM');
    ses.child.kill('SIGTERM');
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`chaos: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(2);
    },
  );
}
