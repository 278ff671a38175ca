/**
 * Who is calling: API tokens (stored only as SHA-256 hashes), their roles, and what each role may do.
 * Roles are ranked viewer < analyst < responder < admin; `ingest` is a separate, least-privilege
 * role for shippers (Winlogbeat, syslog relays, agents) that may only send events.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ROLES, type Role, type Store, type StoredToken } from '@firebreak/store';

export const TOKEN_ROLES = ROLES;
export type TokenRole = Role;
/** `token`: any valid token, whatever its role (a caller asking who it is). */
export type Permission = 'public' | 'token' | 'ingest' | 'viewer' | 'analyst' | 'responder' | 'admin';

export interface Principal {
  tokenId: number;
  name: string;
  role: TokenRole;
}

const RANK: Record<Exclude<TokenRole, 'ingest'>, number> = { viewer: 1, analyst: 2, responder: 3, admin: 4 };

export function isTokenRole(value: unknown): value is TokenRole {
  return typeof value === 'string' && (TOKEN_ROLES as readonly string[]).includes(value);
}

/** Ingest routes take ingest tokens and analysts and above (an analyst uploads a log folder); the rest go by rank. */
export function allows(role: TokenRole, permission: Permission): boolean {
  if (permission === 'public' || permission === 'token') return true;
  if (role === 'ingest') return permission === 'ingest';
  const needed = permission === 'ingest' ? RANK.analyst : RANK[permission];
  return RANK[role] >= needed;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** A new secret: 32 random bytes, prefixed so that secret scanners recognise leaked ones. */
export function newSecret(): string {
  return `fbk_${randomBytes(32).toString('base64url')}`;
}

/** The secret a request carries: `Bearer T`, Elasticsearch's `ApiKey base64(id:T)`, or `Basic base64(user:T)` (Beats). */
export function secretOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const space = header.indexOf(' ');
  if (space < 0) return undefined;
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === 'bearer') return value || undefined;
  if (scheme !== 'apikey' && scheme !== 'basic') return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1) || undefined;
}

/** How long a verified token is trusted without asking the store again; revocation through the API clears it at once. */
const CACHE_MS = 10_000;
const MAX_CACHED = 10_000;

export class Authenticator {
  private readonly cache = new Map<string, { principal: Principal; until: number }>();

  constructor(private readonly store: Store) {}

  /**
   * Makes FIREBREAK_ADMIN_TOKEN's value an admin token (for automation and first login). Without it,
   * a store with no token at all gets a new admin token, whose secret is returned to be shown once:
   * the API is never open, and the first user is not locked out.
   */
  async bootstrapAdmin(envSecret: string | undefined): Promise<string | undefined> {
    if (envSecret) {
      const hash = hashSecret(envSecret);
      const existing = (await this.store.listTokens()).find((token) => token.hash === hash);
      if (existing?.revoked)
        throw new Error(`FIREBREAK_ADMIN_TOKEN's token (id ${existing.id}) was revoked; set FIREBREAK_ADMIN_TOKEN to a new value`);
      if (!existing) await this.store.createToken({ name: 'admin (FIREBREAK_ADMIN_TOKEN)', role: 'admin', hash });
      return undefined;
    }
    if ((await this.store.listTokens()).length > 0) return undefined;
    const secret = newSecret();
    await this.store.createToken({ name: 'admin (first start)', role: 'admin', hash: hashSecret(secret) });
    return secret;
  }

  async authenticate(header: string | undefined): Promise<Principal | undefined> {
    const secret = secretOf(header);
    if (!secret) return undefined;
    const hash = hashSecret(secret);
    const now = Date.now();
    const cached = this.cache.get(hash);
    if (cached && cached.until > now) return cached.principal;
    // The store finds the token by its hash: the secret itself is never compared, so no timing tells how much of it was right.
    const token = await this.store.findToken(hash);
    if (!token) return undefined;
    const principal = principalOf(token);
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    this.cache.set(hash, { principal, until: now + CACHE_MS });
    return principal;
  }

  forget(): void {
    this.cache.clear();
  }
}

function principalOf(token: StoredToken): Principal {
  return { tokenId: token.id, name: token.name, role: token.role };
}

/** Per-token request budgets: a token bucket refilled at `perSecond`, holding at most `burst`. */
export class RateLimiter {
  private readonly buckets = new Map<number, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {}

  /** 0 when the request may go ahead, else the seconds to wait. */
  take(tokenId: number, now = Date.now()): number {
    const bucket = this.buckets.get(tokenId) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    this.buckets.set(tokenId, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - bucket.tokens) / this.perSecond);
  }
}
