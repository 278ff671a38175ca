export * from './shared.js';
export * from './netns.js';
export * from './tls.js';
export * from './supply-chain-telemetry.js';
export * from './random.js';
