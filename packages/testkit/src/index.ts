export * from './shared.js';
export * from './netns.js';
