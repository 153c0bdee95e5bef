import { performanceWorkflow } from './paged.ts';

/** PartialRefund: every valid/controlled ticket of an interrupted performance exchanged for one at the reduced price; the difference is a pending refund. */
export const PartialRefundWorkflow = performanceWorkflow({
  workflow: 'PartialRefund', service: 'partial-refund',
  validate: { id: 'ValidatePartialRefundInput', entry: 'functions/partial-refund/validate.ts', tables: [['catalog', 'RO'], ['runs', 'RO']] },
  open: { entry: 'functions/partial-refund/open-run.ts', tables: [['catalog', 'RW'], ['runs', 'RW']] },
  page: { fnId: 'ExchangePageFn', entry: 'functions/partial-refund/exchange-page.ts', mapId: 'ExchangeShards', id: 'ExchangePage' },
  carry: ['percentHundredths'],
});
