export * from './view-rules.ts';
export * from './service.ts';
export * from './queue-monitor.ts';
