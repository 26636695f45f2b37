/**
 * The names the function's logs and metrics are published under, read by the function
 * (handler.ts) and by the stack's alarms and dashboard (lib/operations.ts): renaming one side
 * alone would leave the stale-snapshot alarm watching a metric nobody writes.
 */
export const METRICS_NAMESPACE = 'EsimExport';
export const SERVICE_NAME = 'esim-export';
