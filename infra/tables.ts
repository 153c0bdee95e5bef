import { RemovalPolicy, type CfnResource } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { INDEX, type TableKey } from '../lib/adapters/dynamodb/table-names.ts';

const S = dynamodb.AttributeType.STRING;

/**
 * The tables. Every table uses generic `pk`/`sk` keys; items are typed by key prefix.
 * Hot access paths (tickets of one performance, open refunds of one day) are sharded
 * in their index keys (see PERFORMANCE_SHARDS, OPEN_REFUND_SHARDS).
 */
export class RefundTables extends Construct {
  readonly orders: dynamodb.Table;
  readonly refunds: dynamodb.Table;
  readonly creditAccounts: dynamodb.Table;
  readonly intermediateAccounts: dynamodb.Table;
  readonly vouchers: dynamodb.Table;
  readonly runs: dynamodb.Table;
  readonly catalog: dynamodb.Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    // Orders: ORDER#id with HEADER, TICKET#, FEE#, PAYMENT#, CANCELLATION# items in one partition,
    // so one order is read in one query and changed in one transaction.
    this.orders = this.table('OrdersTable', 'orders', true, [
      // Keys only: the cancellation pages read order ids from it, and a ticket changing state (not its keys) then costs no index write.
      { indexName: INDEX.ticketsByPerformance, partitionKey: { name: 'gsi1pk', type: S }, sortKey: { name: 'gsi1sk', type: S }, projectionType: dynamodb.ProjectionType.KEYS_ONLY },
    ]);
    // Refunds: sparse index of open refunds (pending, failed, unknown) by creation time, sharded.
    this.refunds = this.table('RefundsTable', 'refunds', true, [
      { indexName: INDEX.openRefundsByCreatedAt, partitionKey: { name: 'openShard', type: S }, sortKey: { name: 'createdAt', type: S } },
      { indexName: INDEX.refundsByOrder, partitionKey: { name: 'orderId', type: S }, sortKey: { name: 'pk', type: S } },
      { indexName: INDEX.notificationOutbox, partitionKey: { name: 'outboxShard', type: S }, sortKey: { name: 'outboxKey', type: S } },
    ]);
    this.creditAccounts = this.table('CreditAccountsTable', 'creditAccounts', true);
    this.intermediateAccounts = this.table('IntermediateAccountsTable', 'intermediateAccounts', true);
    this.vouchers = this.table('VouchersTable', 'vouchers', true);
    this.runs = this.table('RunsTable', 'runs', false, [
      { indexName: INDEX.runsByWorkflow, partitionKey: { name: 'workflow', type: S }, sortKey: { name: 'startedAt', type: S } },
    ]);
    this.catalog = this.table('CatalogTable', 'catalog', false);
  }

  all(): Record<TableKey, dynamodb.Table> {
    return {
      orders: this.orders,
      refunds: this.refunds,
      creditAccounts: this.creditAccounts,
      intermediateAccounts: this.intermediateAccounts,
      vouchers: this.vouchers,
      runs: this.runs,
      catalog: this.catalog,
    };
  }

  private table(id: string, key: TableKey, holdsMoney: boolean, globalSecondaryIndexes: dynamodb.GlobalSecondaryIndexProps[] = []): dynamodb.Table {
    const table = new dynamodb.Table(this, id, {
      partitionKey: { name: 'pk', type: S },
      sortKey: { name: 'sk', type: S },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      deletionProtection: holdsMoney,
      removalPolicy: holdsMoney ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    for (const gsi of globalSecondaryIndexes) table.addGlobalSecondaryIndex(gsi);
    // The local runtime finds each table by this tag, then creates it from the template's own definition.
    (table.node.defaultChild as CfnResource).addMetadata('mass-refund:table', key);
    return table;
  }
}
