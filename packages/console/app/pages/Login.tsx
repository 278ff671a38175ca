/** Sign in with an API token; the server says whose it is and which role it has. */
import { useState } from 'preact/hooks';
import { ApiError, type Role } from '../api';
import { signedOutReason, signIn } from '../session';

export function Login() {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>(signedOutReason.value);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const secret = token.trim();
      const response = await fetch('/api/v1/me', { headers: { authorization: `Bearer ${secret}` } });
      const body = (await response.json().catch(() => ({}))) as { name?: string; role?: Role; error?: string };
      if (!response.ok) throw new ApiError(response.status, body.error ?? `HTTP ${response.status}`);
      if (body.role === 'ingest') throw new Error('this is an ingest token: it may only send events, not sign in');
      signIn({ token: secret, name: body.name ?? 'unknown', role: body.role ?? 'viewer' });
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="login">
      <form class="login-box" onSubmit={(event) => void submit(event)}>
        <h1>
          <img src="/favicon.svg" alt="" width="28" height="28" /> Firebreak
        </h1>
        <label for="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="current-password"
          placeholder="fbk_…"
          value={token}
          onInput={(event) => setToken((event.target as HTMLInputElement).value)}
          autofocus
        />
        <button class="primary" type="submit" disabled={busy || token.trim() === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {error && (
          <div class="error" role="alert">
            {error}
          </div>
        )}
        <p class="hint">
          The first start of <code>firebreak serve</code> (or <code>npm start</code>) prints an admin token; admins make more under
          Settings. The token stays in this tab only.
        </p>
      </form>
    </div>
  );
}
