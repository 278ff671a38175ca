export * from './shared.js';
export * from './netns.js';
export * from './tls.js';
