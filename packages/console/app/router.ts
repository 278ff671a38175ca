/**
 * Hash routes (`#/incidents/12?status=new`): the server serves one page at `/`, and a link or a
 * reload lands on the same view.
 */
import { signal } from '@preact/signals';

export interface Route {
  /** Path segments: `#/incidents/12` → ['incidents', '12']. */
  parts: string[];
  params: URLSearchParams;
}

function current(): Route {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path = '', search = ''] = hash.split('?', 2);
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(search) };
}

export const route = signal<Route>(current());
addEventListener('hashchange', () => (route.value = current()));

export function navigate(path: string, params?: Record<string, string | undefined>): void {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params ?? {})) if (value) search.set(key, value);
  const text = search.toString();
  location.hash = `#${path}${text ? `?${text}` : ''}`;
}

/** Changes the query of the current route without adding a history entry (filters). */
export function replaceParams(params: Record<string, string | undefined>): void {
  const merged = new URLSearchParams(route.value.params);
  for (const [key, value] of Object.entries(params)) {
    if (value) merged.set(key, value);
    else merged.delete(key);
  }
  const text = merged.toString();
  history.replaceState(null, '', `#/${route.value.parts.map(encodeURIComponent).join('/')}${text ? `?${text}` : ''}`);
  route.value = current();
}
