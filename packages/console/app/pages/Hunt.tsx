/**
 * Hunt: search the stored events with a Sigma rule or with exact field values, page back through
 * the matches, open one to read every field, and keep a query as a detection rule. The query lives
 * in the URL, so a hunt can be linked and reloaded.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, type Level, type StoredEvent } from '../api';
import { VirtualTable } from '../components/VirtualTable';
import { PageHeader } from '../components/ui';
import { plural } from '../format';
import { replaceParams, route } from '../router';
import { can, session } from '../session';
import { EVENT_COLUMNS, EventDrawer } from './hunt-events';
import { fieldQueryRule, fieldRuleProblem, guessLogSource, LOG_SOURCES, newRuleId, STARTER_RULE, withRuleId } from './hunt-rule';
import type { RuleListing } from './Rules';
import './hunt.css';

type Mode = 'sigma' | 'fields';

interface FieldRow {
  key: number;
  name: string;
  value: string;
}

interface Scope {
  /** '' (all time), a RANGES key, or 'custom' (from/to). */
  range: string;
  from: string;
  to: string;
  host: string;
  limit: number;
}

/** What POST /api/v1/events/search takes. */
interface SearchBody {
  rule?: string;
  fields?: Record<string, string>;
  from?: string;
  to?: string;
  host?: string;
  limit: number;
  before?: number;
}

interface SearchPage {
  events: StoredEvent[];
  next_before: number | null;
  scanned: number;
}

interface Results {
  /** The query as first run (a relative time range fixed then): "Load more" pages through the same one. */
  body: SearchBody;
  events: StoredEvent[];
  scanned: number;
  nextBefore: number | null;
}

type Notice = { kind: 'ok' | 'error'; text: string; link?: boolean };

const RANGES: [string, string, number][] = [
  ['1h', 'Last hour', 3_600_000],
  ['24h', 'Last 24 hours', 86_400_000],
  ['7d', 'Last 7 days', 7 * 86_400_000],
  ['30d', 'Last 30 days', 30 * 86_400_000],
];
const LIMITS = [100, 200, 500, 1000];
const LEVELS: Level[] = ['informational', 'low', 'medium', 'high', 'critical'];
const COMMON_FIELDS = [
  'Image',
  'CommandLine',
  'ParentImage',
  'User',
  'EventID',
  'Channel',
  'Computer',
  'QueryName',
  'DestinationIp',
  'DestinationPort',
  'TargetFilename',
  'ImageLoaded',
  'Hashes',
  'TargetObject',
  'TargetUserName',
  '_source',
  'app_name',
  'exe',
];
const LINE_HEIGHT = 18;

let rowKeys = 0;
const fieldRow = (name = '', value = ''): FieldRow => ({ key: ++rowKeys, name, value });

function fromUrl(params: URLSearchParams): { mode: Mode; rule: string; fields: FieldRow[]; scope: Scope; run: boolean } {
  const fields = [...params]
    .filter(([key]) => key.startsWith('field.') && key.length > 6)
    .map(([key, value]) => fieldRow(key.slice(6), value));
  const limit = Number(params.get('limit'));
  return {
    mode: params.get('mode') === 'fields' ? 'fields' : 'sigma',
    rule: params.get('rule') ?? STARTER_RULE,
    fields: fields.length > 0 ? fields : [fieldRow()],
    scope: {
      range: params.get('range') ?? '',
      from: params.get('from') ?? '',
      to: params.get('to') ?? '',
      host: params.get('host') ?? '',
      limit: LIMITS.includes(limit) ? limit : 200,
    },
    run: params.has('mode'),
  };
}

/** The route's params for a query (field.* params of an earlier query removed). */
function toUrl(mode: Mode, rule: string, fields: [string, string][], scope: Scope): Record<string, string | undefined> {
  const params: Record<string, string | undefined> = {};
  for (const key of route.value.params.keys()) if (key.startsWith('field.')) params[key] = undefined;
  if (mode === 'fields') for (const [name, value] of fields) params[`field.${name}`] = value;
  return {
    ...params,
    mode,
    rule: mode === 'sigma' ? rule : undefined,
    range: scope.range,
    from: scope.range === 'custom' ? scope.from : undefined,
    to: scope.range === 'custom' ? scope.to : undefined,
    host: scope.host.trim(),
    limit: String(scope.limit),
  };
}

/** The filled rows as [name, value]; an error when a row is half filled or a name repeats. */
function checkedFields(rows: FieldRow[]): [string, string][] | string {
  const filled = rows.filter((row) => row.name.trim() !== '' || row.value !== '');
  const names = new Set<string>();
  for (const row of filled) {
    const name = row.name.trim();
    if (name === '') return `give a field name for the value "${row.value}"`;
    if (names.has(name)) return `the field ${name} is given twice: an event has one value per field`;
    names.add(name);
  }
  return filled.map((row) => [row.name.trim(), row.value]);
}

function timeBounds(scope: Scope): { from?: string; to?: string } {
  if (scope.range === 'custom') return { from: scope.from || undefined, to: scope.to || undefined };
  const span = RANGES.find(([key]) => key === scope.range)?.[2];
  return span ? { from: new Date(Date.now() - span).toISOString() } : {};
}

/** The search state: a run replaces the results, "Load more" adds the next page; a newer request wins over an older one. */
function useSearch() {
  const [state, setState] = useState<{ results?: Results; busy: boolean; error?: string }>({ busy: false });
  const latest = useRef(0);
  const fetchPage = async (body: SearchBody, before?: number): Promise<void> => {
    const request = ++latest.current;
    setState((s) => ({ ...s, busy: true, error: undefined }));
    try {
      const page = await api<SearchPage>('POST', '/api/v1/events/search', { ...body, before });
      if (request !== latest.current) return;
      setState((s) => {
        const earlier = before !== undefined && s.results ? s.results : { body, events: [], scanned: 0, nextBefore: null };
        return {
          busy: false,
          results: {
            body,
            events: [...earlier.events, ...page.events],
            scanned: earlier.scanned + page.scanned,
            nextBefore: page.next_before,
          },
        };
      });
    } catch (error) {
      if (request !== latest.current) return;
      // A failed new query leaves no results of the previous one behind; a failed "Load more" keeps what was found.
      setState((s) => ({ results: before !== undefined ? s.results : undefined, busy: false, error: (error as Error).message }));
    }
  };
  return {
    ...state,
    run: (body: SearchBody) => fetchPage(body),
    loadMore: () => state.results?.nextBefore && fetchPage(state.results.body, state.results.nextBefore),
  };
}

export function Hunt() {
  const initial = useMemo(() => fromUrl(route.value.params), []);
  const [mode, setMode] = useState(initial.mode);
  const [rule, setRule] = useState(initial.rule);
  const [rows, setRows] = useState(initial.fields);
  const [scope, setScope] = useState(initial.scope);
  const [inputError, setInputError] = useState<string>();
  const [notice, setNotice] = useState<Notice>();
  const [fieldRule, setFieldRule] = useState<[string, string][]>();
  const [open, setOpen] = useState<StoredEvent>();
  const [saving, setSaving] = useState(false);
  const editor = useRef<HTMLTextAreaElement>(null);
  const search = useSearch();

  const run = (): void => {
    setNotice(undefined);
    const fields = checkedFields(rows);
    if (typeof fields === 'string' && mode === 'fields') return setInputError(fields);
    setInputError(undefined);
    const named = typeof fields === 'string' ? [] : fields;
    replaceParams(toUrl(mode, rule, named, scope));
    const common = { ...timeBounds(scope), host: scope.host.trim() || undefined, limit: scope.limit };
    void search.run(mode === 'sigma' ? { ...common, rule } : { ...common, fields: Object.fromEntries(named) });
  };
  // A linked hunt (the URL names a query) runs as it opens.
  useEffect(() => {
    if (initial.run) run();
  }, []);

  const saveSigma = async (): Promise<void> => {
    setNotice(undefined);
    const { yaml, added } = withRuleId(rule);
    if (added) setRule(yaml);
    const addedNote = added ? ` The rule had no id: id ${added} was added to it.` : '';
    setSaving(true);
    try {
      const saved = await api<RuleListing>('POST', '/api/v1/rules', { yaml });
      setNotice({
        kind: 'ok',
        text: `Saved as the rule "${saved.title}" (id ${saved.id}): detection runs it on every new event.${addedNote}`,
        link: true,
      });
    } catch (error) {
      setNotice({ kind: 'error', text: `Not saved: ${(error as Error).message}.${addedNote}` });
    } finally {
      setSaving(false);
    }
  };
  const startFieldSave = (): void => {
    setNotice(undefined);
    const fields = checkedFields(rows);
    const problem = typeof fields === 'string' ? fields : fieldRuleProblem(fields);
    if (problem) return setNotice({ kind: 'error', text: `Cannot save: ${problem}.` });
    setFieldRule(fields as [string, string][]);
  };

  const errorLine = mode === 'sigma' ? lineOf(search.error) : undefined;
  const suggestions = useMemo(() => fieldNames(search.results?.events), [search.results]);
  return (
    <div
      class="list-page hunt"
      onKeyDown={(event) => {
        if (event.key !== 'Enter' || !(event.ctrlKey || event.metaKey)) return;
        event.preventDefault();
        run();
      }}
    >
      <PageHeader title="Hunt">
        <div class="tabs" role="tablist" aria-label="Query kind">
          {(['sigma', 'fields'] as const).map((m) => (
            <button key={m} type="button" role="tab" aria-selected={mode === m} onClick={() => setMode(m)}>
              {m === 'sigma' ? 'Sigma rule' : 'Field query'}
            </button>
          ))}
        </div>
      </PageHeader>
      <form
        class="hunt-query"
        aria-label="Hunt query"
        onSubmit={(event) => {
          event.preventDefault();
          run();
        }}
      >
        {mode === 'sigma' ? (
          <SigmaEditor value={rule} onInput={setRule} errorLine={errorLine} textarea={editor} />
        ) : (
          <FieldRows rows={rows} onChange={setRows} />
        )}
        <ScopeControls
          scope={scope}
          onChange={setScope}
          busy={search.busy}
          saving={saving}
          save={can('analyst') ? (mode === 'sigma' ? () => void saveSigma() : startFieldSave) : undefined}
        />
      </form>
      <datalist id="hunt-field-names">
        {suggestions.map((name) => (
          <option key={name} value={name} />
        ))}
      </datalist>
      {(inputError || search.error) && (
        <div class="error hunt-error" role="alert">
          {inputError ?? `The query failed: ${search.error}`}
          {errorLine !== undefined && (
            <button type="button" class="plain small" onClick={() => selectLine(editor.current, errorLine)}>
              Show line {errorLine}
            </button>
          )}
        </div>
      )}
      {notice && <NoticeLine notice={notice} />}
      {fieldRule && (
        <SaveFieldRule
          fields={fieldRule}
          guess={guessLogSource(search.results?.events[0])}
          close={() => setFieldRule(undefined)}
          saved={(text) => {
            setFieldRule(undefined);
            setNotice({ kind: 'ok', text, link: true });
          }}
          edit={(yaml) => {
            setFieldRule(undefined);
            setRule(yaml);
            setMode('sigma');
          }}
        />
      )}
      {(search.results || !search.error) && <ResultStatus mode={mode} results={search.results} busy={search.busy} />}
      <VirtualTable
        label="Events found"
        rows={search.results?.events ?? []}
        columns={EVENT_COLUMNS}
        rowKey={(e) => e.id}
        onOpen={(event) => setOpen(event)}
        empty={search.busy ? 'Searching…' : search.results ? 'No event matches.' : 'Run a query to see events here.'}
      />
      {search.results?.nextBefore && (
        <div class="hunt-more">
          <button type="button" disabled={search.busy} onClick={() => void search.loadMore()}>
            {search.busy ? 'Loading…' : 'Load more'}
          </button>
          <span class="muted">older events</span>
        </div>
      )}
      {open && (
        <EventDrawer
          event={open}
          close={() => {
            setOpen(undefined);
            document.querySelector<HTMLElement>('.hunt .vtable-body')?.focus();
          }}
        />
      )}
    </div>
  );
}

/** The line a load error names (`… (line 7)`), to mark in the editor. */
function lineOf(error: string | undefined): number | undefined {
  const match = error && /\(line (\d+)\)\s*$/.exec(error);
  return match ? Number(match[1]) : undefined;
}

function selectLine(textarea: HTMLTextAreaElement | null, line: number): void {
  if (!textarea) return;
  const lines = textarea.value.split('\n');
  const start = lines.slice(0, line - 1).reduce((sum, l) => sum + l.length + 1, 0);
  textarea.focus();
  textarea.setSelectionRange(start, start + (lines[line - 1]?.length ?? 0));
  textarea.scrollTop = Math.max(0, (line - 3) * LINE_HEIGHT);
}

function fieldNames(events: StoredEvent[] | undefined): string[] {
  const names = new Set(COMMON_FIELDS);
  for (const event of (events ?? []).slice(0, 200)) for (const name of Object.keys(event.fields)) names.add(name);
  return [...names].slice(0, 500);
}

function SigmaEditor(props: {
  value: string;
  onInput(value: string): void;
  errorLine: number | undefined;
  textarea: { current: HTMLTextAreaElement | null };
}) {
  const gutter = useRef<HTMLDivElement>(null);
  const count = props.value.split('\n').length;
  return (
    <div class="hunt-editor">
      <div class="hunt-gutter mono" ref={gutter} aria-hidden="true">
        {Array.from({ length: count }, (_, i) => (
          <div key={i} class={i + 1 === props.errorLine ? 'hunt-error-line' : undefined}>
            {i + 1}
          </div>
        ))}
      </div>
      <textarea
        ref={props.textarea}
        aria-label="Sigma rule (YAML)"
        spellcheck={false}
        wrap="off"
        value={props.value}
        onInput={(event) => props.onInput((event.target as HTMLTextAreaElement).value)}
        onScroll={(event) => {
          if (gutter.current) gutter.current.scrollTop = (event.target as HTMLTextAreaElement).scrollTop;
        }}
      />
    </div>
  );
}

function FieldRows({ rows, onChange }: { rows: FieldRow[]; onChange(rows: FieldRow[]): void }) {
  const update = (key: number, change: Partial<FieldRow>): void => onChange(rows.map((r) => (r.key === key ? { ...r, ...change } : r)));
  return (
    <div class="hunt-fields-editor">
      <p class="hint">Events whose fields have exactly these values (all of them). No field: every event in the time range and host.</p>
      {rows.map((row, index) => (
        <div key={row.key} class="hunt-field-row">
          <input
            aria-label={`Field ${index + 1} name`}
            placeholder="field, e.g. Image"
            list="hunt-field-names"
            value={row.name}
            onInput={(e) => update(row.key, { name: (e.target as HTMLInputElement).value })}
          />
          <span class="muted">=</span>
          <input
            aria-label={`Field ${index + 1} value`}
            placeholder="exact value"
            class="mono"
            value={row.value}
            onInput={(e) => update(row.key, { value: (e.target as HTMLInputElement).value })}
          />
          <button
            type="button"
            class="plain small"
            aria-label={`Remove field ${index + 1}`}
            onClick={() => onChange(rows.length > 1 ? rows.filter((r) => r.key !== row.key) : [fieldRow()])}
          >
            ×
          </button>
        </div>
      ))}
      <div>
        <button type="button" class="plain small" onClick={() => onChange([...rows, fieldRow()])}>
          + Add field
        </button>
      </div>
    </div>
  );
}

/** Choosing "from … to …" starts from the last 24 hours (as the UTC text the inputs hold), not from two empty boxes. */
function rangeChange(scope: Scope, range: string): Partial<Scope> {
  if (range !== 'custom' || scope.from || scope.to) return { range };
  const utc = (ms: number): string => new Date(ms).toISOString().slice(0, 19);
  return { range, from: utc(Date.now() - 86_400_000), to: utc(Date.now()) };
}

function ScopeControls(props: { scope: Scope; onChange(scope: Scope): void; busy: boolean; saving: boolean; save?: () => void }) {
  const { scope } = props;
  const set = (change: Partial<Scope>): void => props.onChange({ ...scope, ...change });
  const value = (event: Event): string => (event.target as HTMLInputElement).value;
  return (
    <div class="hunt-scope">
      <label>
        Time
        <select aria-label="Time range" value={scope.range} onChange={(e) => set(rangeChange(scope, value(e)))}>
          <option value="">All time</option>
          {RANGES.map(([key, label]) => (
            <option key={key} value={key}>
              {label}
            </option>
          ))}
          <option value="custom">From … to … (UTC)</option>
        </select>
      </label>
      {scope.range === 'custom' && (
        <>
          <label>
            From
            <input type="datetime-local" step={1} aria-label="From (UTC)" value={scope.from} onInput={(e) => set({ from: value(e) })} />
          </label>
          <label>
            To
            <input type="datetime-local" step={1} aria-label="To (UTC)" value={scope.to} onInput={(e) => set({ to: value(e) })} />
          </label>
        </>
      )}
      <label>
        Host
        <input
          type="search"
          aria-label="Host"
          placeholder="any host (exact name)"
          value={scope.host}
          onInput={(e) => set({ host: value(e) })}
        />
      </label>
      <label>
        Page
        <select aria-label="Events per page" value={String(scope.limit)} onChange={(e) => set({ limit: Number(value(e)) })}>
          {LIMITS.map((n) => (
            <option key={n} value={n}>
              {n} events
            </option>
          ))}
        </select>
      </label>
      <div class="hunt-buttons">
        <button type="submit" class="primary" disabled={props.busy} title="Ctrl+Enter">
          {props.busy ? 'Running…' : 'Run'}
        </button>
        <span class="hint">
          <kbd>Ctrl</kbd>+<kbd>Enter</kbd>
        </span>
        {props.save && (
          <button type="button" disabled={props.saving} onClick={props.save}>
            {props.saving ? 'Saving…' : 'Save as rule'}
          </button>
        )}
      </div>
    </div>
  );
}

function NoticeLine({ notice }: { notice: Notice }) {
  return (
    <div class={notice.kind === 'ok' ? 'hunt-notice' : 'error'} role={notice.kind === 'ok' ? 'status' : 'alert'}>
      {notice.text}
      {notice.link && (
        <>
          {' '}
          <a href="#/rules">See the rules</a>
        </>
      )}
    </div>
  );
}

function ResultStatus({ mode, results, busy }: { mode: Mode; results: Results | undefined; busy: boolean }) {
  if (!results) return <div class="hunt-status muted">{busy ? 'Searching…' : 'Write a Sigma rule or a field query, then Run.'}</div>;
  const ruleQuery = results.body.rule !== undefined;
  return (
    <div class="hunt-status" aria-live="polite">
      <strong>{plural(results.events.length, 'event')}</strong>
      {ruleQuery && <span class="muted"> matched in {plural(results.scanned, 'stored event')} scanned</span>}
      <span class="muted">
        {results.nextBefore ? ' · more further back' : ' · searched back to the oldest stored event'}
        {mode === 'sigma' && !ruleQuery ? ' · results of the field query' : ''}
        {mode === 'fields' && ruleQuery ? ' · results of the Sigma rule' : ''}
      </span>
    </div>
  );
}

function SaveFieldRule(props: {
  fields: [string, string][];
  guess: string;
  close(): void;
  saved(text: string): void;
  edit(yaml: string): void;
}) {
  const [id] = useState(newRuleId);
  const [title, setTitle] = useState(() => `Hunt: ${props.fields.map(([name, value]) => `${name} = ${value}`).join(', ')}`.slice(0, 200));
  const [level, setLevel] = useState<Level>('medium');
  const [source, setSource] = useState(props.guess);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const logsource = LOG_SOURCES.find((choice) => choice.key === source)!.logsource;
  const yaml = fieldQueryRule({ id, title, level, logsource, fields: props.fields, author: session.value?.name ?? 'console' });
  const save = async (): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      const saved = await api<RuleListing>('POST', '/api/v1/rules', { yaml });
      props.saved(`Saved as the rule "${saved.title}" (id ${saved.id}, level ${saved.level}): detection runs it on every new event.`);
    } catch (e) {
      setError(`Not saved: ${(e as Error).message}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card hunt-save" aria-label="Save the field query as a rule">
      <header>
        <h2>Save the field query as a Sigma rule</h2>
        <button type="button" class="plain small" onClick={props.close}>
          Cancel
        </button>
      </header>
      <div class="card-body hunt-save-body">
        <div class="hunt-save-form">
          <label>
            Title
            <input aria-label="Rule title" value={title} maxLength={200} onInput={(e) => setTitle((e.target as HTMLInputElement).value)} />
          </label>
          <label>
            Level
            <select aria-label="Rule level" value={level} onChange={(e) => setLevel((e.target as HTMLSelectElement).value as Level)}>
              {LEVELS.map((l) => (
                <option key={l}>{l}</option>
              ))}
            </select>
          </label>
          <label>
            Applies to
            <select aria-label="Log source" value={source} onChange={(e) => setSource((e.target as HTMLSelectElement).value)}>
              {LOG_SOURCES.map((choice) => (
                <option key={choice.key} value={choice.key}>
                  {choice.label}
                </option>
              ))}
            </select>
          </label>
          <p class="hint">
            A rule has no host or time range: it runs on every new event of its log source. Sigma compares text without regard to case.
          </p>
          <div class="hunt-buttons">
            <button type="button" class="primary" disabled={busy || title.trim() === ''} onClick={() => void save()}>
              {busy ? 'Saving…' : 'Save rule'}
            </button>
            <button type="button" onClick={() => props.edit(yaml)}>
              Edit as Sigma rule
            </button>
          </div>
          {error && (
            <div class="error" role="alert">
              {error}
            </div>
          )}
        </div>
        <pre aria-label="Rule YAML">{yaml}</pre>
      </div>
    </section>
  );
}
