/** The tables and the environment variable that carries each one's name. */
export const TABLE_ENV = {
  orders: 'ORDERS_TABLE',
  refunds: 'REFUNDS_TABLE',
  creditAccounts: 'CREDIT_ACCOUNTS_TABLE',
  intermediateAccounts: 'INTERMEDIATE_ACCOUNTS_TABLE',
  vouchers: 'VOUCHERS_TABLE',
  runs: 'RUNS_TABLE',
  catalog: 'CATALOG_TABLE',
} as const;
export type TableKey = keyof typeof TABLE_ENV;
export const TABLE_KEYS = Object.keys(TABLE_ENV) as TableKey[];

/** The CloudFormation logical id of each table in the stack (the local runtime derives tables from them). */
export const TABLE_LOGICAL_PREFIX: Record<TableKey, string> = {
  orders: 'OrdersTable',
  refunds: 'RefundsTable',
  creditAccounts: 'CreditAccountsTable',
  intermediateAccounts: 'IntermediateAccountsTable',
  vouchers: 'VouchersTable',
  runs: 'RunsTable',
  catalog: 'CatalogTable',
};

export class MissingTableConfigError extends Error {
  constructor(key: TableKey) {
    super(`table "${key}" is not configured: environment variable ${TABLE_ENV[key]} is not set`);
    this.name = 'MissingTableConfigError';
  }
}

/** Read at call time, not import time: the local runner sets the variables before invoking. */
export function tableName(key: TableKey): string {
  const name = process.env[TABLE_ENV[key]];
  if (!name) throw new MissingTableConfigError(key);
  return name;
}

/** Index names, shared by the stack and the repositories. */
export const INDEX = {
  ticketsByPerformance: 'byPerformance',
  openRefundsByCreatedAt: 'openByCreatedAt',
  refundsByOrder: 'byOrder',
  notificationOutbox: 'outbox',
  runsByWorkflow: 'byWorkflow',
} as const;

/** Hot index keys are spread over shards so a 100,000-ticket performance has no hot partition. */
export const PERFORMANCE_SHARDS = 16;
export const OPEN_REFUND_SHARDS = 16;
