export { runAgent, AgentError, type AgentOptions, type RunningAgent } from './agent.js';
export { DEFAULT_STATE_DIR } from './runtime/state.js';
export { AgentConnection, type AgentConnectionOptions } from './runtime/connection.js';
export { enroll, type EnrollOptions } from './runtime/enroll.js';
export { AgentState, type Identity } from './runtime/state.js';
export { DiskQueue } from './runtime/queue.js';
