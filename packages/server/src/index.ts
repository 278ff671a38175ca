export { startServer, DEFAULTS, type ServerOptions, type RunningServer, type HostPort } from './server.js';
export { loadConfig, parseHostPort, ConfigError } from './config.js';
export { verifyAudit, type AuditVerdict } from './audit.js';
export { TOKEN_ROLES, type TokenRole } from './auth.js';
export { loadDemo, shiftTimes, DEMO_DIR, type DemoResult } from './demo.js';
