/**
 * Settings: who is signed in (everyone); the API tokens that are the console's users, and agent
 * enrollment tokens (admin). Secrets are shown once, as the server returns them once and keeps
 * only their SHA-256. Shapes: routes/admin.ts and the enroll-tokens route in routes/response.ts.
 */
import { useState } from 'preact/hooks';
import { api, type Role } from '../api';
import { ActionButton, Card, ErrorBox, KeyValues, Loading, PageHeader, StatusBadge } from '../components/ui';
import { time } from '../format';
import { useGet } from '../hooks';
import { can, session, signOut } from '../session';
import { SecretValue } from './fleet-common';
import './fleet.css';

interface Me {
  token_id: number;
  name: string;
  role: Role;
}

interface Token {
  id: number;
  name: string;
  role: Role;
  created: string;
  revoked: string | null;
}

const ROLES: Role[] = ['viewer', 'analyst', 'responder', 'admin', 'ingest'];

/** What each role may do (docs/server.md), shown next to the signed-in identity and the role picker. */
const ROLE_MEANS: Record<Role, string> = {
  ingest: 'sends events only (log shippers); cannot sign in here',
  viewer: 'reads events, alerts, incidents, rules, hosts and the live feed',
  analyst: 'as viewer, plus incident status and notes, custom rules',
  responder: 'as analyst, plus response actions (start, approve, cancel) and the blocklist',
  admin: 'everything, plus tokens, agents, enrollment, playbooks and the audit log',
};

export function Settings() {
  const me = useGet<Me>('/api/v1/me');
  return (
    <div class="fleet-page">
      <PageHeader title="Settings" />
      <Card title="Signed in as">
        <ErrorBox error={me.error} />
        <KeyValues
          entries={[
            ['Name', me.data?.name ?? session.value?.name ?? ''],
            ['Role', <span class="badge">{me.data?.role ?? session.value?.role}</span>],
            ['May', ROLE_MEANS[me.data?.role ?? session.value?.role ?? 'viewer']],
            ['Token id', me.data ? <span class="mono">{me.data.token_id}</span> : ''],
          ]}
        />
      </Card>
      {can('admin') ? (
        <>
          <Tokens myTokenId={me.data?.token_id} />
          <EnrollAgents />
        </>
      ) : (
        <Card title="Tokens and agents">
          <p class="muted">API tokens and agent enrollment need the admin role.</p>
        </Card>
      )}
    </div>
  );
}

function Tokens({ myTokenId }: { myTokenId: number | undefined }) {
  const tokens = useGet<{ tokens: Token[] }>('/api/v1/tokens');
  const revoke = (token: Token) => async (): Promise<void> => {
    await api('DELETE', `/api/v1/tokens/${token.id}`);
    // Revoking the token in use ends this session: the next request would be refused anyway.
    if (token.id === myTokenId) signOut(`token ${token.name} was revoked`);
    else tokens.reload();
  };
  return (
    <Card title="API tokens (users)">
      <p class="muted">Each person or log shipper gets a token with a role. The server keeps only each token's SHA-256.</p>
      <ErrorBox error={tokens.error} />
      {!tokens.data ? (
        !tokens.error && <Loading />
      ) : (
        <div class="fleet-scroll">
          <table class="plain" aria-label="API tokens">
            <thead>
              <tr>
                <th>#</th>
                <th>Name</th>
                <th>Role</th>
                <th>Created (UTC)</th>
                <th>State</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {tokens.data.tokens.map((token) => (
                <tr key={token.id}>
                  <td class="mono">{token.id}</td>
                  <td>
                    {token.name}
                    {token.id === myTokenId && <span class="muted"> (this session)</span>}
                  </td>
                  <td>{token.role}</td>
                  <td>{time(token.created)}</td>
                  <td>{token.revoked ? <StatusBadge status="revoked" /> : <span class="badge status-online">active</span>}</td>
                  <td>
                    {token.revoked ? (
                      <span class="muted">{time(token.revoked)}</span>
                    ) : (
                      <ActionButton
                        kind="danger"
                        label={`Revoke ${token.name}`}
                        run={revoke(token)}
                        confirm={
                          token.id === myTokenId
                            ? `Revoke ${token.name}? It is the token you are signed in with: this session ends.`
                            : `Revoke ${token.name}? Whoever uses it is refused from now on.`
                        }
                      />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <CreateToken created={tokens.reload} />
    </Card>
  );
}

function CreateToken({ created }: { created(): void }) {
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('analyst');
  const [made, setMade] = useState<Token & { secret: string }>();
  const create = async (): Promise<void> => {
    setMade(await api<Token & { secret: string }>('POST', '/api/v1/tokens', { name: name.trim(), role }));
    setName('');
    created();
  };
  return (
    <>
      <h3>New token</h3>
      <form class="fleet-form" aria-label="New token" onSubmit={(e) => e.preventDefault()}>
        <label>
          Name
          <input
            aria-label="Token name"
            placeholder="alice, winlogbeat-dc1…"
            value={name}
            onInput={(e) => setName((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          Role
          <select aria-label="Token role" value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value as Role)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <ActionButton kind="primary" label="Create token" run={create} disabled={name.trim() === ''} />
        <span class="muted">{ROLE_MEANS[role]}</span>
      </form>
      {made && (
        <div class="fleet-once" role="status" aria-label="New token secret">
          <strong>
            Token {made.name} ({made.role}) created. Copy its secret now: it is not shown again.
          </strong>
          <SecretValue value={made.secret} label={`Secret of ${made.name}`} />
          <button class="small" onClick={() => setMade(undefined)}>
            Done
          </button>
        </div>
      )}
    </>
  );
}

function EnrollAgents() {
  const [tags, setTags] = useState('');
  const [hours, setHours] = useState('24');
  const [minted, setMinted] = useState<{ token: string; tags: string[]; expires_at: string }>();
  const mint = async (): Promise<void> => {
    setMinted(
      await api('POST', '/api/v1/agents/enroll-tokens', {
        tags: tags
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean),
        ttl_hours: Number(hours),
      }),
    );
  };
  const hoursValid = /^\d+$/.test(hours) && Number(hours) >= 1 && Number(hours) <= 24 * 365;
  return (
    <Card title="Enroll an agent">
      <p class="muted">
        A one-time token: the agent trades it for its own credential at its first start. Tags given here become the host's asset tags
        (playbook conditions and protected tags).
      </p>
      <form class="fleet-form" aria-label="Enrollment token" onSubmit={(e) => e.preventDefault()}>
        <label>
          Tags
          <input
            aria-label="Agent tags"
            placeholder="linux-server, pbx"
            value={tags}
            onInput={(e) => setTags((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          Valid for (hours)
          <input
            aria-label="Valid for hours"
            type="number"
            min={1}
            max={8760}
            size={6}
            value={hours}
            onInput={(e) => setHours((e.target as HTMLInputElement).value)}
          />
        </label>
        <ActionButton
          kind="primary"
          label="Create enrollment token"
          run={mint}
          disabled={!hoursValid}
          title={hoursValid ? undefined : 'Valid for 1 to 8760 hours'}
        />
      </form>
      {minted && (
        <div class="fleet-once" role="status" aria-label="New enrollment token">
          <strong>
            One-time enrollment token, valid until {time(minted.expires_at)} UTC
            {minted.tags.length ? `, tags ${minted.tags.join(', ')}` : ''}. It is not shown again.
          </strong>
          <SecretValue value={minted.token} label="Enrollment token" />
          <span>Run on the host (as root, for isolation and the host inventory):</span>
          <SecretValue value={`firebreak agent --server ${location.origin} --enroll-token ${minted.token}`} label="Agent command" />
          <button class="small" onClick={() => setMinted(undefined)}>
            Done
          </button>
        </div>
      )}
    </Card>
  );
}
