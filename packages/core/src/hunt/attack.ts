/** ATT&CK tactics and techniques from Sigma tags (`attack.execution`, `attack.t1059.001`). */

/**
 * Enterprise tactics in kill-chain order: the columns of a tactic matrix. ATT&CK v18 split
 * Defense Evasion into Stealth and Defense Impairment; older rules still carry the old tag.
 */
export const TACTICS = [
  ['reconnaissance', 'Reconnaissance'],
  ['resource_development', 'Resource Development'],
  ['initial_access', 'Initial Access'],
  ['execution', 'Execution'],
  ['persistence', 'Persistence'],
  ['privilege_escalation', 'Privilege Escalation'],
  ['defense_evasion', 'Defense Evasion'],
  ['stealth', 'Stealth'],
  ['defense_impairment', 'Defense Impairment'],
  ['credential_access', 'Credential Access'],
  ['discovery', 'Discovery'],
  ['lateral_movement', 'Lateral Movement'],
  ['collection', 'Collection'],
  ['command_and_control', 'Command and Control'],
  ['exfiltration', 'Exfiltration'],
  ['impact', 'Impact'],
] as const;

export type Tactic = (typeof TACTICS)[number][1];

export interface Attack {
  /** Tactic names as ATT&CK writes them ("Defense Evasion"), in kill-chain order. */
  tactics: Tactic[];
  /** Technique and sub-technique ids, uppercase ("T1059.001"). */
  techniques: string[];
}

const TACTIC_BY_TAG = new Map<string, Tactic>(TACTICS.map(([tag, name]) => [tag, name]));

export function attackOf(tags: readonly string[]): Attack {
  const tactics = new Set<Tactic>();
  const techniques = new Set<string>();
  for (const tag of tags) {
    const lower = tag.toLowerCase();
    if (!lower.startsWith('attack.')) continue;
    const name = lower.slice('attack.'.length).replaceAll('-', '_');
    const tactic = TACTIC_BY_TAG.get(name);
    if (tactic) tactics.add(tactic);
    else if (/^t\d{4}(\.\d{3})?$/.test(name)) techniques.add(name.toUpperCase());
  }
  return { tactics: TACTICS.map(([, n]) => n).filter((n) => tactics.has(n)), techniques: [...techniques] };
}
