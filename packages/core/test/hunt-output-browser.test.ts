/**
 * The HTML report in a real browser (Debian's Chromium, driven by playwright-core): it loads
 * nothing, logs no error, runs no injected script, and its table renders, filters and sorts.
 * Skips with the reason when Chromium or playwright-core is not installed.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, test } from 'node:test';
import type { Detection } from '../src/hunt/detection.js';
import { hostileDetections, huntSamples, samplesSkip } from './support/hunt-output-fixtures.js';
import { htmlReport } from './support/hunt-output-html.js';

const CHROMIUM = '/usr/bin/chromium';
const playwright = await import('playwright-core').catch(() => undefined);
const browserSkip = !existsSync(CHROMIUM)
  ? `needs ${CHROMIUM} (apt-get install chromium)`
  : !playwright
    ? 'needs the npm package playwright-core (npm ci)'
    : false;

const work = mkdtempSync(join(tmpdir(), 'firebreak-report-'));
after(() => rmSync(work, { recursive: true, force: true }));

test(
  'the report in Chromium: no request, no error, no injected script; the table renders, filters and sorts',
  { skip: browserSkip },
  async () => {
    const real = samplesSkip ? [] : await huntSamples();
    const detections: Detection[] = [...real, ...hostileDetections()];
    const path = join(work, 'report.html');
    writeFileSync(path, await htmlReport(detections));
    const url = pathToFileURL(path).href;

    const browser = await playwright!.chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    try {
      const page = await browser.newPage();
      const requests: string[] = [];
      const problems: string[] = [];
      page.on('request', (request) => {
        if (request.url() !== url) requests.push(request.url());
      });
      page.on('console', (message) => {
        if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
      });
      page.on('pageerror', (error) => problems.push(error.message));
      page.on('dialog', (dialog) => {
        problems.push(`a dialog opened: ${dialog.message()}`);
        void dialog.dismiss();
      });
      await page.goto(url);
      const rows = page.locator('#detections tbody tr.row');
      await rows.first().waitFor();
      assert.equal(await rows.count(), detections.length);
      assert.equal(await page.locator('img, iframe, object, embed').count(), 0, 'no element came from a value');

      await page.fill('#filter-text', 'hostile-html');
      assert.equal(await rows.count(), 1);
      assert.equal(await rows.first().locator('td').nth(5).textContent(), '</script><script>alert(1)</script>', 'the title, as text');
      await rows.first().click();
      const detail = page.locator('#detections tr.detail');
      assert.match((await detail.textContent())!, /fields\.Image<\/SCRIPT><svg onload=alert\(1\)>/);

      await page.fill('#filter-text', '');
      await page.selectOption('#filter-level', 'critical');
      assert.equal(await rows.count(), 1);
      await page.selectOption('#filter-level', 'informational');
      await page.click('#detections th[data-key="timestamp"]');
      assert.equal(
        await rows.first().locator('td').first().textContent(),
        detections
          .map((d) => d.timestamp ?? '~')
          .sort()[0]!
          .replace('T', ' ')
          .slice(0, 19),
      );

      if (real.length > 0) {
        const computer = real[0]!.computer!;
        await page.selectOption('#filter-computer', computer);
        assert.equal(await rows.count(), detections.filter((d) => d.computer === computer).length);
        const credentialAccess = page.locator('.tactic[data-tactic="Credential Access"]');
        assert.match((await credentialAccess.textContent())!, /T1003\d+/);
      }
      assert.match((await page.locator('.tactic[data-tactic="Execution"] h3').textContent())!, /Execution\d+ detections?/);
      assert.deepEqual(requests, [], 'the report fetched nothing');
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  },
);
