export * from './view-rules.ts';
export * from './service.ts';
export * from './queue-monitor.ts';
export * from './view-store.ts';
