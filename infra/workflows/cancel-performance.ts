import { performanceWorkflow } from './paged.ts';

/** CancelPerformance: every valid/controlled ticket of a performance (filtered) cancelled, one cancellation per order, pending refunds. */
export const CancelPerformanceWorkflow = performanceWorkflow({
  workflow: 'CancelPerformance', service: 'cancel-performance',
  validate: { id: 'ValidateCancelInput', entry: 'functions/cancel-performance/validate.ts', tables: [['catalog', 'RO']] },
  open: { entry: 'functions/cancel-performance/open-run.ts', tables: [['runs', 'RW']] },
  page: { fnId: 'CancelPageFn', entry: 'functions/cancel-performance/cancel-page.ts', mapId: 'CancelShards', id: 'CancelPage' },
});
