/** The two stores the server's API tests run on: SQLite, and PostgreSQL in a schema of its own (dropped after). */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

export async function postgresSkip(): Promise<string | false> {
  const client = new pg.Client(PG_URL);
  try {
    await client.connect();
    return false;
  } catch (error) {
    return `PostgreSQL at ${PG_URL} is not reachable (${(error as Error).message})`;
  } finally {
    await client.end().catch(() => {});
  }
}

export const backends: {
  name: string;
  store: () => string | undefined;
  cleanup(url: string | undefined): Promise<void>;
  skip: () => Promise<string | false>;
}[] = [
  { name: 'SQLite', store: () => undefined, cleanup: async () => {}, skip: async () => false },
  {
    name: 'PostgreSQL',
    store: () => `${PG_URL}?schema=fb_api_${randomBytes(4).toString('hex')}`,
    cleanup: async (url) => {
      const schema = new URL(url!).searchParams.get('schema')!;
      const client = new pg.Client(PG_URL);
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    },
    skip: postgresSkip,
  },
];
