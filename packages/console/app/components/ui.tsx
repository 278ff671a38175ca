/** Small pieces every page uses. */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';

export function LevelBadge({ level }: { level: string }) {
  return <span class={`badge level-${level}`}>{level}</span>;
}

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge status-${status}`}>{status.replace('_', ' ')}</span>;
}

export function Loading() {
  return <div class="loading">Loading…</div>;
}

export function ErrorBox({ error }: { error: string | undefined }) {
  return error ? (
    <div class="error" role="alert">
      {error}
    </div>
  ) : null;
}

export function Card({ title, children, actions }: { title: ComponentChildren; children: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <section class="card">
      <header>
        <h2>{title}</h2>
        {actions}
      </header>
      <div class="card-body">{children}</div>
    </section>
  );
}

/** A button that runs an async action: disabled while it runs, and shows the error if it fails. */
export function ActionButton(props: {
  label: string;
  run: () => Promise<unknown>;
  kind?: 'primary' | 'danger' | 'plain';
  confirm?: string;
  disabled?: boolean;
  title?: string;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const click = async (): Promise<void> => {
    if (props.confirm && !window.confirm(props.confirm)) return;
    setBusy(true);
    setError(undefined);
    try {
      await props.run();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <span class="action-button">
      <button class={props.kind ?? 'plain'} disabled={busy || props.disabled} title={props.title} onClick={() => void click()}>
        {busy ? `${props.label}…` : props.label}
      </button>
      {error && <span class="inline-error">{error}</span>}
    </span>
  );
}

export function KeyValues({ entries }: { entries: [string, ComponentChildren][] }) {
  return (
    <dl class="kv">
      {entries.map(([key, value]) => (
        <>
          <dt key={`${key}-k`}>{key}</dt>
          <dd key={`${key}-v`}>{value}</dd>
        </>
      ))}
    </dl>
  );
}

export function PageHeader({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="page-header">
      <h1>{title}</h1>
      <div class="page-tools">{children}</div>
    </div>
  );
}
