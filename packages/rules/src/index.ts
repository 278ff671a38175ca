/**
 * Firebreak's bundled Sigma rule pack. The rules are YAML files shipped beside the compiled code;
 * `firebreak hunt` loads them when no `--rules` is given.
 */
import { fileURLToPath } from 'node:url';

/** Absolute path of the pack's rule folder (this file is dist/src/index.js once built). */
export const RULE_PACK_DIR = fileURLToPath(new URL('../../sigma', import.meta.url));

/** Example response playbooks (`firebreak serve --playbooks`), tested with the pack. */
export const PLAYBOOK_DIR = fileURLToPath(new URL('../../playbooks', import.meta.url));
