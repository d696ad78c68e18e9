// The review UI's performance in Debian's chromium, over an experiment that
// crates/bench/src/ui_bench.rs seeded. Prints one table; run it through
// `cargo run --release -p almanac-bench --bin almanac-ui-bench`.
import { launch } from './browser.mjs';
import { gzipSync } from 'node:zlib';

const base = process.env.BASE;
const exp = process.env.EXPERIMENT_ID;
const rows = [];
const record = (measure, value, target) => rows.push({ measure, value, target });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// First meaningful paint: navigation start → the first run row in the DOM,
// cold (fresh profile: wasm fetched and compiled) and warm.
async function firstPaint() {
  const { context, page } = await launch();
  await page.addInitScript(() => {
    new MutationObserver((_, obs) => {
      if (document.querySelector('.rows .row.virtual[data-run]')) {
        window.__firstRowMs = performance.now();
        obs.disconnect();
      }
    }).observe(document, { childList: true, subtree: true });
  });
  const times = [];
  for (let i = 0; i < 4; i++) {
    // A new document each time: a hash-only change would not reload the app.
    await page.goto('about:blank');
    await page.goto(`${base}/#/experiments/${exp}`);
    await page.waitForFunction(() => window.__firstRowMs !== undefined, null, { timeout: 30000 });
    times.push(await page.evaluate(() => window.__firstRowMs));
  }
  await context.close();
  return times;
}

// Filter → updated table: Enter in the filter box → the table's new total
// and first rows rendered (the section goes not-ready, then ready again).
async function filterLatency(page, filter) {
  return page.evaluate(async (filter) => {
    const input = document.querySelector('.filter-input');
    const section = document.querySelector('section.runs');
    input.value = filter;
    input.dispatchEvent(new InputEvent('input', { bubbles: true }));
    await new Promise((r) => setTimeout(r, 50));
    let sawLoading = false;
    const done = new Promise((resolve) => {
      const obs = new MutationObserver(() => {
        if (section.dataset.ready === 'false') sawLoading = true;
        else if (sawLoading && section.dataset.ready === 'true') {
          obs.disconnect();
          resolve(performance.now());
        }
      });
      obs.observe(section, { attributes: true, attributeFilter: ['data-ready'] });
    });
    const t0 = performance.now();
    input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    const t1 = await done;
    return { ms: t1 - t0, total: document.querySelector('.toolbar .total').dataset.total };
  }, filter);
}

// Scroll the table for a few seconds at a fast, steady pace; every frame's
// duration is recorded.
async function scrollFrames(page) {
  return page.evaluate(async () => {
    const table = document.querySelector('.table');
    const frames = [];
    let last = performance.now();
    const end = last + 4000;
    await new Promise((resolve) => {
      const tick = (now) => {
        frames.push(now - last);
        last = now;
        table.scrollTop += 900;
        if (now < end) requestAnimationFrame(tick); else resolve();
      };
      requestAnimationFrame(tick);
    });
    return { frames, scrolledTo: table.scrollTop };
  });
}

const paints = await firstPaint();
record('first meaningful paint, cold (fresh profile)', `${paints[0].toFixed(0)} ms`, '< 1500 ms');
record('first meaningful paint, warm (median of 3)', `${median(paints.slice(1)).toFixed(0)} ms`, '< 1500 ms');

const { context, page } = await launch();
await page.goto(`${base}/#/experiments/${exp}`);
await page.locator('.rows .row.virtual[data-run]').first().waitFor();
const filters = [
  'metrics.acc > 0.5',
  "params.optimizer = '3' AND metrics.loss < 0.2",
  "tags.team = 't3'",
  'metrics.acc > 0.25 AND metrics.acc < 0.75',
];
const filterTimes = [];
for (const f of filters) {
  const r = await filterLatency(page, f);
  filterTimes.push(r.ms);
  console.error(`filter ${f}: ${r.ms.toFixed(0)} ms, ${r.total} runs`);
}
record('filter → updated table (median of 4)', `${median(filterTimes).toFixed(0)} ms (max ${Math.max(...filterTimes).toFixed(0)})`, '< 300 ms');

await page.goto(`${base}/#/experiments/${exp}`);
await page.locator('.rows .row.virtual[data-run]').first().waitFor();
const { frames, scrolledTo } = await scrollFrames(page);
const sorted = [...frames].sort((a, b) => a - b);
console.error('slow frames (index: ms):', frames.map((f, i) => [i, f]).filter(([, f]) => f > 25).map(([i, f]) => `${i}: ${f.toFixed(1)}`).join(', '));
record('scroll: worst frame', `${sorted[sorted.length - 1].toFixed(1)} ms over ${frames.length} frames`, '≤ 50 ms');
record('scroll: p95 frame', `${sorted[Math.floor(sorted.length * 0.95)].toFixed(1)} ms (scrolled ${Math.round(scrolledTo / 30)} rows)`, '');
await context.close();

// Charts: selecting runs → the first chart drawn, and egui's CPU time per
// frame while the pointer moves over large histories.
async function chartTiming(page, runIds) {
  await page.goto('about:blank');
  await page.goto(`${base}/#/experiments/${exp}`);
  await page.locator('.rows .row.virtual[data-run]').first().waitFor();
  const ms = await page.evaluate(async (ids) => {
    window.__almanacChartReadyMs = undefined;
    const t0 = performance.now();
    location.hash = `#/compare-runs?runs=${encodeURIComponent(JSON.stringify(ids))}`;
    while (window.__almanacChartReadyMs === undefined) {
      if (performance.now() - t0 > 60000) throw new Error('no chart drawn within 60 s');
      await new Promise((r) => setTimeout(r, 5));
    }
    return Number(window.__almanacChartReadyMs) - t0;
  }, runIds);
  return ms;
}
const charts100k = JSON.parse(process.env.CHART_RUNS_100K || '[]');
const chartsLarge = JSON.parse(process.env.CHART_RUNS_LARGE || '[]');
if (charts100k.length) {
  const { context: c2, page: p2 } = await launch();
  await p2.setViewportSize({ width: 1400, height: 900 });
  const times = [];
  for (let i = 0; i < 3; i++) times.push(await chartTiming(p2, charts100k));
  record(`selected runs → first chart, ${charts100k.length} runs × 100k points`, `${median(times).toFixed(0)} ms (median of 3)`, '< 1000 ms');
  const large = await chartTiming(p2, chartsLarge);
  record(`selected runs → first chart, ${chartsLarge.length} runs × ${process.env.CHART_POINTS} points`, `${large.toFixed(0)} ms`, 'report');
  // Keep only the loss chart, then sweep the pointer to make egui repaint.
  await p2.fill('input.metric-search', 'loss');
  await p2.waitForTimeout(500);
  await p2.evaluate(() => { window.__almanacChartFrameMs = '[]'; });
  const box = await p2.locator('canvas.charts-canvas').boundingBox();
  for (let i = 0; i < 120; i++) {
    await p2.mouse.move(box.x + 40 + (i % 60) * ((box.width / 2 - 80) / 60), box.y + 80 + (i % 7) * 20);
    await p2.waitForTimeout(16);
  }
  const frameMs = JSON.parse(await p2.evaluate(() => window.__almanacChartFrameMs || '[]'));
  const fs = [...frameMs].sort((a, b) => a - b);
  record(`egui CPU per frame, ${chartsLarge.length} runs × ${process.env.CHART_POINTS} points (hovering)`,
    `mean ${(fs.reduce((a, b) => a + b, 0) / Math.max(fs.length, 1)).toFixed(1)} ms, p95 ${(fs[Math.floor(fs.length * 0.95)] || 0).toFixed(1)} ms over ${fs.length} frames`, '< 16 ms');
  await c2.close();
}

let gzip = 0;
let raw = 0;
for (const f of ['index.html', 'style.css', 'ui.js', 'ui_bg.wasm']) {
  const path = f === 'index.html' ? '/' : `/assets/${f}`;
  const bytes = Buffer.from(await (await fetch(base + path, { headers: { 'accept-encoding': 'identity' } })).arrayBuffer());
  raw += bytes.length;
  gzip += gzipSync(bytes, { level: 9 }).length;
}
record('UI bundle (html + css + js + wasm)', `${(gzip / 1024).toFixed(0)} KiB gzip (${(raw / 1024).toFixed(0)} KiB raw)`, 'report');

const runs = process.env.RUNS;
console.log(`\nReview UI in headless chromium, experiment of ${runs} runs\n`);
const w = Math.max(...rows.map((r) => r.measure.length));
const v = Math.max(...rows.map((r) => r.value.length));
console.log(`${'measure'.padEnd(w)} | ${'value'.padEnd(v)} | target`);
console.log(`${'-'.repeat(w)}-|-${'-'.repeat(v)}-|-------`);
for (const r of rows) console.log(`${r.measure.padEnd(w)} | ${r.value.padEnd(v)} | ${r.target}`);
