/* global document, Event, requestAnimationFrame, sessionStorage -- page.evaluate and waitForFunction run these parts in the browser */
/**
 * The web console (issue 8): bundle sizes, first load on loopback, and lists of 10,000 incidents
 * and 10,000 alerts in Debian's Chromium (playwright-core). The server holds the demo scenario plus
 * ROWS incidents and ROWS alerts written straight into its store.
 *
 *   node bench/console.mjs [--rows 10000] [--runs 10]   (after `npm run build`)
 *
 * Figures: first load = navigation start → the page drawn with its data (login page; overview
 * with a session), fresh browser context (empty cache) each run. Lists: time until all rows are
 * loaded and drawn, a filter keystroke → redrawn, a sort click → redrawn, and frame times while
 * scrolling the whole list (200 frames).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { CONSOLE_DIR } from '@firebreak/console';
import { loadDemo, startServer } from '@firebreak/server';

const { values } = parseArgs({ options: { rows: { type: 'string' }, runs: { type: 'string' } } });
const ROWS = Number(values.rows ?? 10_000);
const RUNS = Number(values.runs ?? 10);
const TOKEN = 'fbk_bench-console-0123456789abcdef';

function bundleSizes() {
  const assets = join(CONSOLE_DIR, 'assets');
  for (const name of readdirSync(assets).sort()) {
    const body = readFileSync(join(assets, name));
    console.log(
      `  ${name.padEnd(34)} ${(body.length / 1024).toFixed(1).padStart(7)} KiB  gzip ${(gzipSync(body).length / 1024).toFixed(1).padStart(6)} KiB`,
    );
  }
}

async function seed(store) {
  const now = Date.now();
  const levels = ['low', 'medium', 'high', 'critical'];
  const started = performance.now();
  for (let i = 0; i < ROWS; i++) {
    const last = now - i * 60_000;
    await store.createIncident({
      title: `Synthetic incident ${i}: suspicious process on ws-${i % 500}`,
      status: ['new', 'investigating', 'contained', 'resolved'][i % 4],
      severity: levels[i % 4],
      score: (i * 37) % 100,
      hosts: [`ws-${String(i % 500).padStart(3, '0')}`],
      first: last - 300_000,
      last,
      alertCount: 1 + (i % 9),
      grouping: {},
      notes: [],
    });
  }
  const alerts = Array.from({ length: ROWS }, (_, i) => ({
    dedupKey: `bench-${i}`,
    kind: 'sigma',
    ruleId: `bench-rule-${i % 300}`,
    ruleTitle: `Synthetic rule ${i % 300}`,
    level: levels[i % 4],
    timestamp: now - i * 30_000,
    computer: `ws-${String(i % 500).padStart(3, '0')}`,
    eventIds: [],
    matched: { Image: `C:\\Temp\\tool-${i}.exe` },
    tags: ['attack.execution'],
    details: {},
  }));
  for (let i = 0; i < alerts.length; i += 1000) await store.insertAlerts(alerts.slice(i, i + 1000));
  console.log(`seeded ${ROWS} incidents and ${ROWS} alerts in ${Math.round(performance.now() - started)} ms`);
}

const percentile = (values, p) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))];
const summary = (values) => `p50 ${Math.round(percentile(values, 50))} ms, max ${Math.round(Math.max(...values))} ms`;

async function sessionPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  await context.addInitScript(
    ([token]) => sessionStorage.setItem('firebreak.session', JSON.stringify({ token, name: 'bench', role: 'admin' })),
    [TOKEN],
  );
  const page = await context.newPage();
  return { context, page };
}

/**
 * Milliseconds from the page's navigation start (its time origin) until `drawn(arg)` holds, checked
 * every frame. `drawn` returns performance.now() once it holds (a function, not a string: the
 * console's CSP forbids eval).
 */
async function drawnAt(page, drawn, arg) {
  const handle = await page.waitForFunction(drawn, arg, { polling: 'raf', timeout: 60_000 });
  return handle.jsonValue();
}

async function firstLoads(browser, url) {
  const login = [];
  const overview = [];
  for (let run = 0; run < RUNS; run++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    const page = await context.newPage();
    await page.goto(`${url}/`, { waitUntil: 'commit' });
    login.push(await drawnAt(page, () => document.querySelector('#token') && performance.now()));
    await context.close();
    const signed = await sessionPage(browser);
    await signed.page.goto(`${url}/#/overview`, { waitUntil: 'commit' });
    // Drawn with data: the chart's bars and the latest incidents are on the page.
    overview.push(
      await drawnAt(
        signed.page,
        () =>
          document.querySelector('svg.chart rect') &&
          [...document.querySelectorAll('a')].some((a) => a.textContent.startsWith('Synthetic incident 0:')) &&
          performance.now(),
      ),
    );
    await signed.context.close();
  }
  console.log(`first load, login page:           ${summary(login)}`);
  console.log(`first load, overview with data:   ${summary(overview)}`);
}

async function list(browser, url, path, countText, filterText, sortColumn) {
  const { context, page } = await sessionPage(browser);
  await page.goto(`${url}/#/${path}`, { waitUntil: 'commit' });
  const firstRows = await drawnAt(page, () => document.querySelectorAll('.vtable-row').length > 10 && performance.now());
  const loaded = await drawnAt(page, (text) => document.body.textContent.includes(text) && performance.now(), countText);
  const filter = page.locator('[data-filter]');
  const filterMs = await page.evaluate(
    async ([text]) => {
      const input = document.querySelector('[data-filter]');
      const before = performance.now();
      input.value = text;
      input.dispatchEvent(new Event('input', { bubbles: true }));
      await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
      return performance.now() - before;
    },
    [filterText],
  );
  await filter.fill('');
  const sortMs = await page.evaluate(
    async ([title]) => {
      const header = [...document.querySelectorAll('[role=columnheader]')].find((h) => h.textContent.startsWith(title));
      const before = performance.now();
      header.click();
      await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
      return performance.now() - before;
    },
    [sortColumn],
  );
  const frames = await page.evaluate(async () => {
    const body = document.querySelector('.vtable-body');
    const step = (body.scrollHeight - body.clientHeight) / 200;
    const times = [];
    let last = performance.now();
    for (let i = 1; i <= 200; i++) {
      body.scrollTop = i * step;
      await new Promise((resolve) => requestAnimationFrame(resolve));
      const now = performance.now();
      times.push(now - last);
      last = now;
    }
    return times;
  });
  const rendered = await page.locator('.vtable-row').count();
  console.log(
    `${path.padEnd(9)} ${countText}: first rows drawn at ${Math.round(firstRows)} ms, all loaded at ${Math.round(loaded)} ms; filter keystroke ${filterMs.toFixed(1)} ms; sort ${sortMs.toFixed(1)} ms; ` +
      `scroll frames p50 ${percentile(frames, 50).toFixed(1)} ms, p95 ${percentile(frames, 95).toFixed(1)} ms, max ${Math.max(...frames).toFixed(1)} ms; ${rendered} rows in the DOM`,
  );
  await context.close();
}

const dir = mkdtempSync(join(tmpdir(), 'firebreak-bench-console-'));
const server = await startServer({
  dataDir: dir,
  listen: { host: '127.0.0.1', port: 0 },
  adminToken: TOKEN,
  consoleDir: CONSOLE_DIR,
  rateLimit: { perSecond: 10_000, burst: 10_000 },
  log: () => undefined,
});
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  console.log('bundle:');
  bundleSizes();
  await loadDemo(server.parts);
  await seed(server.parts.store);
  await firstLoads(browser, server.url);
  const total = (await server.parts.store.stats()).incidents;
  await list(browser, server.url, 'incidents', `${total.toLocaleString('en')} incidents`, 'ws-042', 'Title');
  await list(browser, server.url, 'alerts', `${ROWS.toLocaleString('en')} alerts`, 'tool-77', 'Rule');
} finally {
  await browser.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
