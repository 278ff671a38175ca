/**
 * The playbooks in force: the YAML files of `--playbooks DIR` (read at start) and those added
 * through the API (kept in the store). An API playbook with the id of a file's replaces it.
 */
import { loadPlaybooks, parsePlaybook, type Playbook } from '@firebreak/core';
import type { Store, StoredRecord } from '@firebreak/store';

const PLAYBOOK = 'playbook';

export interface PlaybookBody {
  yaml: string;
  by: string;
}

export interface PlaybookEntry {
  playbook: Playbook;
  origin: 'file' | 'api';
  /** The store record of an API playbook. */
  recordId: number | null;
}

export class PlaybookLibrary {
  private files: Playbook[] = [];
  private stored: { playbook: Playbook; record: StoredRecord<PlaybookBody> }[] = [];
  /** Problems met loading (a bad file is reported, the rest load). */
  problems: string[] = [];

  constructor(private readonly store: Store) {}

  async load(dirs: readonly string[]): Promise<void> {
    this.files = [];
    this.problems = [];
    for (const dir of dirs) {
      const { playbooks, errors } = loadPlaybooks(dir);
      this.files.push(...playbooks);
      this.problems.push(...errors.map((error) => error.message));
    }
    this.stored = [];
    for (const record of await this.store.listRecords<PlaybookBody>(PLAYBOOK, { limit: 10_000 })) {
      try {
        this.stored.push({ playbook: parsePlaybook(record.body.yaml, `api:${record.key}`), record });
      } catch (error) {
        this.problems.push((error as Error).message);
      }
    }
  }

  entries(): PlaybookEntry[] {
    const api = new Set(this.stored.map((s) => s.playbook.id));
    return [
      ...this.files.filter((p) => !api.has(p.id)).map((playbook) => ({ playbook, origin: 'file' as const, recordId: null })),
      ...this.stored.map(({ playbook, record }) => ({ playbook, origin: 'api' as const, recordId: record.id })),
    ];
  }

  enabled(): Playbook[] {
    return this.entries()
      .map((entry) => entry.playbook)
      .filter((playbook) => playbook.enabled);
  }

  /** Adds or replaces an API playbook; throws PlaybookError (with its line) on a bad one. */
  async put(yaml: string, by: string): Promise<Playbook> {
    const playbook = parsePlaybook(yaml, 'request body');
    const existing = await this.store.findRecord<PlaybookBody>(PLAYBOOK, playbook.id);
    const record = existing
      ? (await this.store.updateRecord<PlaybookBody>(PLAYBOOK, existing.id, { yaml, by }))!
      : await this.store.putRecord<PlaybookBody>(PLAYBOOK, { key: playbook.id, body: { yaml, by } });
    this.stored = [...this.stored.filter((s) => s.playbook.id !== playbook.id), { playbook, record }];
    return playbook;
  }

  async remove(id: string): Promise<boolean> {
    const entry = this.stored.find((s) => s.playbook.id === id);
    if (!entry || !(await this.store.deleteRecord(PLAYBOOK, entry.record.id))) return false;
    this.stored = this.stored.filter((s) => s !== entry);
    return true;
  }
}
