/** Short descriptions of the Windows event IDs a responder meets most, and the names of logon types. */

const SECURITY: Record<number, string> = {
  1102: 'The audit log was cleared',
  4624: 'An account was successfully logged on',
  4625: 'An account failed to log on',
  4634: 'An account was logged off',
  4647: 'User initiated logoff',
  4648: 'A logon was attempted using explicit credentials',
  4656: 'A handle to an object was requested',
  4657: 'A registry value was modified',
  4661: 'A handle to an object was requested (SAM/AD)',
  4662: 'An operation was performed on an object',
  4663: 'An attempt was made to access an object',
  4672: 'Special privileges assigned to new logon',
  4673: 'A privileged service was called',
  4688: 'A new process has been created',
  4689: 'A process has exited',
  4697: 'A service was installed in the system',
  4698: 'A scheduled task was created',
  4699: 'A scheduled task was deleted',
  4702: 'A scheduled task was updated',
  4703: 'A token right was adjusted',
  4719: 'System audit policy was changed',
  4720: 'A user account was created',
  4724: 'An attempt was made to reset an account password',
  4728: 'A member was added to a security-enabled global group',
  4732: 'A member was added to a security-enabled local group',
  4738: 'A user account was changed',
  4740: 'A user account was locked out',
  4742: 'A computer account was changed',
  4768: 'A Kerberos authentication ticket (TGT) was requested',
  4769: 'A Kerberos service ticket was requested',
  4771: 'Kerberos pre-authentication failed',
  4776: 'The computer attempted to validate the credentials for an account (NTLM)',
  4798: "A user's local group membership was enumerated",
  4799: 'A security-enabled local group membership was enumerated',
  5136: 'A directory service object was modified',
  5140: 'A network share object was accessed',
  5145: 'A network share object was checked for access',
  5156: 'The Windows Filtering Platform has permitted a connection',
  5158: 'The Windows Filtering Platform has permitted a bind to a local port',
};

const SYSMON: Record<number, string> = {
  1: 'Process creation',
  2: 'A process changed a file creation time',
  3: 'Network connection',
  4: 'Sysmon service state changed',
  5: 'Process terminated',
  6: 'Driver loaded',
  7: 'Image loaded',
  8: 'CreateRemoteThread',
  9: 'RawAccessRead',
  10: 'ProcessAccess',
  11: 'FileCreate',
  12: 'Registry object added or deleted',
  13: 'Registry value set',
  14: 'Registry object renamed',
  15: 'FileCreateStreamHash',
  16: 'Sysmon configuration change',
  17: 'Pipe created',
  18: 'Pipe connected',
  19: 'WmiEventFilter activity',
  20: 'WmiEventConsumer activity',
  21: 'WmiEventConsumerToFilter activity',
  22: 'DNS query',
  23: 'File delete archived',
  24: 'Clipboard changed',
  25: 'Process tampering',
  26: 'File delete logged',
  27: 'File block executable',
  28: 'File block shredding',
  29: 'File executable detected',
};

const SYSTEM: Record<number, string> = {
  104: 'An event log was cleared',
  6005: 'The Event log service was started',
  6006: 'The Event log service was stopped',
  7034: 'A service terminated unexpectedly',
  7036: 'A service entered a new state',
  7040: 'The start type of a service was changed',
  7045: 'A service was installed in the system',
};

const POWERSHELL: Record<number, string> = {
  4103: 'PowerShell module logging (pipeline execution)',
  4104: 'PowerShell script block logging',
  400: 'PowerShell engine started',
  403: 'PowerShell engine stopped',
  600: 'PowerShell provider started',
  800: 'PowerShell pipeline execution details',
};

const DEFENDER: Record<number, string> = {
  1116: 'Malware or potentially unwanted software detected',
  1117: 'Action taken to protect the system from malware',
  5001: 'Real-time protection was disabled',
};

const TASK_SCHEDULER: Record<number, string> = {
  106: 'A scheduled task was registered',
  140: 'A scheduled task was updated',
  141: 'A scheduled task was deleted',
  200: 'A scheduled task action started',
  201: 'A scheduled task action completed',
};

/** Lower-cased channel → its table. */
const BY_CHANNEL = new Map<string, Record<number, string>>([
  ['security', SECURITY],
  ['microsoft-windows-sysmon/operational', SYSMON],
  ['system', SYSTEM],
  ['microsoft-windows-powershell/operational', POWERSHELL],
  ['windows powershell', POWERSHELL],
  ['microsoft-windows-windows defender/operational', DEFENDER],
  ['microsoft-windows-taskscheduler/operational', TASK_SCHEDULER],
]);

/** What an event ID means in its channel, for the well-known ones. */
export function describeEvent(channel: string | undefined, eventId: number | undefined): string | undefined {
  if (channel === undefined || eventId === undefined) return undefined;
  return BY_CHANNEL.get(channel.toLowerCase())?.[eventId];
}

const LOGON_TYPES: Record<number, string> = {
  0: 'System',
  2: 'Interactive',
  3: 'Network',
  4: 'Batch',
  5: 'Service',
  7: 'Unlock',
  8: 'NetworkCleartext',
  9: 'NewCredentials',
  10: 'RemoteInteractive',
  11: 'CachedInteractive',
  12: 'CachedRemoteInteractive',
  13: 'CachedUnlock',
};

/** The name of a logon type (4624/4625 `LogonType`), e.g. 3 → Network, 10 → RemoteInteractive. */
export function logonTypeName(type: number | undefined): string | undefined {
  return type === undefined ? undefined : LOGON_TYPES[type];
}
