/** The frame around every page: navigation, who is signed in, the live feed's state, keyboard shortcuts. */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { liveState } from '../live';
import { navigate, route } from '../router';
import { session, signOut } from '../session';

export interface NavItem {
  path: string;
  title: string;
  /** The key after `g` that opens it. */
  key: string;
}

export const NAV: NavItem[] = [
  { path: 'overview', title: 'Overview', key: 'o' },
  { path: 'incidents', title: 'Incidents', key: 'i' },
  { path: 'alerts', title: 'Alerts', key: 'a' },
  { path: 'hosts', title: 'Hosts', key: 'h' },
  { path: 'hunt', title: 'Hunt', key: 'u' },
  { path: 'rules', title: 'Rules', key: 'r' },
  { path: 'response', title: 'Response', key: 'p' },
  { path: 'audit', title: 'Audit log', key: 'l' },
  { path: 'settings', title: 'Settings', key: 's' },
];

export function Layout({ children }: { children: ComponentChildren }) {
  const [help, setHelp] = useState(false);
  useShortcuts(() => setHelp((shown) => !shown));
  const current = route.value.parts[0] ?? 'overview';
  const who = session.value!;
  return (
    <div class="layout">
      <nav class="sidebar" aria-label="Main">
        <a class="brand" href="#/overview">
          <img src="/favicon.svg" alt="" width="22" height="22" /> Firebreak
        </a>
        <ul>
          {NAV.map((item) => (
            <li key={item.path}>
              <a href={`#/${item.path}`} aria-current={current === item.path ? 'page' : undefined} title={`g ${item.key}`}>
                {item.title}
              </a>
            </li>
          ))}
        </ul>
        <div class="sidebar-foot">
          <div class={`live live-${liveState.value}`} title="Live feed of alerts, incidents, actions and agents">
            ● {liveState.value}
          </div>
          <div class="who">
            {who.name}
            <span class="role">{who.role}</span>
          </div>
          <button class="plain small" onClick={() => signOut()}>
            Sign out
          </button>
          <button class="plain small" onClick={() => setHelp(true)} title="?">
            Shortcuts
          </button>
        </div>
      </nav>
      <main class="content">{children}</main>
      {help && <ShortcutHelp close={() => setHelp(false)} />}
    </div>
  );
}

/** `g` then a page's key goes there; `/` focuses the page's filter; `?` shows the list. */
function useShortcuts(toggleHelp: () => void): void {
  useEffect(() => {
    let pendingG = 0;
    const onKey = (event: KeyboardEvent): void => {
      const target = event.target as HTMLElement;
      if (event.ctrlKey || event.metaKey || event.altKey || target.closest('input, textarea, select, [contenteditable]')) return;
      if (event.key === '?') return toggleHelp();
      if (event.key === '/') {
        const filter = document.querySelector<HTMLElement>('[data-filter]');
        if (filter) {
          event.preventDefault();
          filter.focus();
        }
        return;
      }
      if (event.key === 'g') {
        pendingG = Date.now();
        return;
      }
      if (Date.now() - pendingG < 1500) {
        const item = NAV.find((n) => n.key === event.key);
        pendingG = 0;
        if (item) navigate(`/${item.path}`);
      }
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, [toggleHelp]);
}

function ShortcutHelp({ close }: { close: () => void }) {
  useEffect(() => {
    const onKey = (event: KeyboardEvent): void => {
      if (event.key === 'Escape') close();
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, [close]);
  return (
    <div class="overlay" role="dialog" aria-label="Keyboard shortcuts" onClick={close}>
      <div class="dialog" onClick={(event) => event.stopPropagation()}>
        <h2>Keyboard shortcuts</h2>
        <table>
          <tbody>
            {NAV.map((item) => (
              <tr key={item.key}>
                <td>
                  <kbd>g</kbd> <kbd>{item.key}</kbd>
                </td>
                <td>{item.title}</td>
              </tr>
            ))}
            <tr>
              <td>
                <kbd>/</kbd>
              </td>
              <td>Focus the page's filter</td>
            </tr>
            <tr>
              <td>
                <kbd>↑</kbd> <kbd>↓</kbd> / <kbd>j</kbd> <kbd>k</kbd>
              </td>
              <td>Move in a list</td>
            </tr>
            <tr>
              <td>
                <kbd>Enter</kbd>
              </td>
              <td>Open the selected row</td>
            </tr>
            <tr>
              <td>
                <kbd>?</kbd> / <kbd>Esc</kbd>
              </td>
              <td>Show / hide this list</td>
            </tr>
          </tbody>
        </table>
      </div>
    </div>
  );
}
