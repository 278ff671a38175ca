/**
 * Rules saved through the API (a hunt query kept as a rule). They live in the store's records, so
 * they survive a restart, and every ingest thread loads them with the rule files. Saving or
 * deleting one reloads the threads: the live stream runs the new set from the next request on.
 */
import { DuplicateKeyError, type Store, type StoredRecord } from '@firebreak/store';
import type { AuditLog } from '../audit.js';
import type { Principal } from '../auth.js';
import { badRequest, HttpError, notFound } from '../http/errors.js';
import type { RuleListing, RuleSource } from './protocol.js';
import { loadThreadRules, ruleListing } from './rule-loading.js';
import type { IngestThreads } from './threads.js';

const KIND = 'custom-rule';
const PAGE = 1000;
/** A custom rule's `file` in listings, load reports and alerts' details: `custom:ID`. */
const FILE_PREFIX = 'custom:';

export interface CustomRuleBody {
  yaml: string;
  createdBy: string;
}

export class CustomRules {
  /** Reloads run one after another, each with what the store holds when it starts: the last one has every change. */
  private reloads: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly threads: IngestThreads,
    private readonly audit: AuditLog,
  ) {}

  /**
   * Checks, stores and starts using a rule: 400 when it is not one loadable detection rule with
   * an id, 409 when a rule in use has that id. Resolves once the threads run it.
   */
  async add(yaml: string, principal: Principal): Promise<RuleListing> {
    const rule = this.checked(yaml);
    const inUse = this.threads.rules.some((r) => r.id === rule.id) || this.threads.summary?.correlations.some((c) => c.id === rule.id);
    if (inUse) throw new HttpError(409, `a rule with id ${rule.id} is in use already`);
    let record: StoredRecord<CustomRuleBody>;
    try {
      record = await this.store.putRecord<CustomRuleBody>(KIND, { key: rule.id, body: { yaml, createdBy: principal.name } });
    } catch (error) {
      if (error instanceof DuplicateKeyError) throw new HttpError(409, `a custom rule with id ${rule.id} exists already`);
      throw error;
    }
    try {
      await this.reload();
    } catch (error) {
      await this.store.deleteRecord(KIND, record.id);
      throw error;
    }
    await this.audit.record(principal, 'rule.create', `rule:${rule.id}`, { title: rule.title, yaml });
    return rule;
  }

  /** Stops using a custom rule and deletes it: 404 for an unknown id, 409 for a rule from the rule files. */
  async remove(id: string, principal: Principal): Promise<void> {
    const record = await this.store.findRecord<CustomRuleBody>(KIND, id);
    if (!record) {
      if (this.threads.rules.some((r) => r.id === id && !r.custom))
        throw new HttpError(409, `rule ${id} comes from the rule files: only custom rules can be deleted`);
      throw notFound(`custom rule ${id}`);
    }
    if (!(await this.store.deleteRecord(KIND, record.id))) throw notFound(`custom rule ${id}`);
    await this.reload();
    await this.audit.record(principal, 'rule.delete', `rule:${id}`);
  }

  private reload(): Promise<void> {
    const next = this.reloads.then(async () =>
      this.threads.reload({ ...this.threads.options, customRules: await customRuleSources(this.store) }),
    );
    this.reloads = next.catch(() => undefined);
    return next;
  }

  /** The rule as the threads will list it, loaded as they load rules (same log source mapping and selection). */
  private checked(yaml: string): RuleListing {
    const file = 'rule';
    const { ruleSet, files, excluded } = loadThreadRules({
      rules: { ...this.threads.options.rules, rules: [] },
      customRules: [{ file, text: yaml }],
    });
    const report = files[0]!;
    if (report.status !== 'loaded')
      throw badRequest(`the rule did not load: ${report.reason}${report.line ? ` (line ${report.line})` : ''}`);
    if (excluded.length > 0) throw badRequest(`the rule is left out by the server's rule selection: ${excluded[0]!.reason}`);
    if (ruleSet.unmapped.length > 0) throw badRequest('the rule did not load: no log source mapping for its log source');
    if (report.documents !== 1 || ruleSet.size !== 1 || ruleSet.correlations.length > 0)
      throw badRequest('give one Sigma detection rule (no correlation, filter or further documents)');
    const info = ruleSet.ruleInfos[0]!;
    // Sigma's loader has checked that an id, when given, is a UUID.
    if (info.id === undefined)
      throw badRequest('the rule needs an "id" (a UUID): it names the rule in alerts and in DELETE /api/v1/rules/ID');
    return { ...ruleListing(info, true), file: FILE_PREFIX + info.id };
  }
}

/** The custom rules the store holds, as the threads load them. */
export async function customRuleSources(store: Store): Promise<RuleSource[]> {
  const sources: RuleSource[] = [];
  for (let afterId = 0; ;) {
    const page = await store.listRecords<CustomRuleBody>(KIND, { afterId, limit: PAGE });
    for (const record of page) sources.push({ file: FILE_PREFIX + record.key!, text: record.body.yaml });
    if (page.length < PAGE) return sources;
    afterId = page.at(-1)!.id;
  }
}
