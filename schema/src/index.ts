export * from './common.js';
export * from './process.v1.js';
export * from './event.v1.js';
export * from './heartbeat.v1.js';
export * from './subjects.js';
export * from './steps.js';
export * from './nats-close.js';
export * from './alert.v1.js';
