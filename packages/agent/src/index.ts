export { runAgent, AgentError, type AgentOptions, type RunningAgent } from './agent.js';
export { DEFAULT_STATE_DIR } from './runtime/state.js';
