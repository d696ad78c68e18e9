// Debian's chromium, headless, driven by playwright-core. Never run
// `npx playwright install`: it downloads a browser, which fails offline.
import { chromium } from 'playwright-core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--enable-unsafe-swiftshader', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** A fresh browser profile each time, so no state leaks between runs. */
export async function launch({ colorScheme = 'light' } = {}) {
  const userDataDir = mkdtempSync(join(tmpdir(), 'almanac-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1400, height: 900 },
    colorScheme,
  });
  const page = context.pages()[0] || (await context.newPage());
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  // A refused request logs "Failed to load resource"; tests provoke those
  // on purpose and check the UI's own error display instead.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text());
  });
  return { context, page, errors };
}

/** Steps print one line each; the first failure ends the script non-zero. */
export function runner() {
  let passed = 0;
  return {
    async step(name, fn) {
      const t0 = Date.now();
      try {
        await fn();
        passed += 1;
        console.log(`ok   ${name} (${Date.now() - t0} ms)`);
      } catch (e) {
        console.log(`FAIL ${name}: ${e && e.stack || e}`);
        throw e;
      }
    },
    get passed() { return passed; },
  };
}

export function assert(cond, message) {
  if (!cond) throw new Error(message);
}
