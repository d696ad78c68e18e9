// The review UI, as a user drives it, against a running `almanac serve`
// seeded through the real mlflow client by tests/e2e/test_ui.py, which
// passes what to expect in SCENARIO (JSON) and checks the edits afterwards
// through the client's get_run.
import { launch, runner, assert } from './browser.mjs';

const s = JSON.parse(process.env.SCENARIO);
const base = s.base;
const { context, page, errors } = await launch();
const t = runner();
const total = () => page.locator('.toolbar .total');
const waitTotal = async (n) => {
  await page.waitForFunction((n) => document.querySelector('.toolbar .total')?.dataset.total === String(n), n, { timeout: 10000 })
    .catch(async () => { throw new Error(`expected ${n} runs, table says "${await total().textContent()}"`); });
};
const rowNames = async () => page.locator('.rows .row.virtual .cell.name a').allTextContents();

try {
  await t.step('loads experiments with run counts', async () => {
    await page.goto(`${base}/#/`);
    const item = page.locator('.experiment', { hasText: s.experiment_name });
    await item.waitFor();
    assert((await item.locator('.count').textContent()).trim() === String(s.total_runs), 'run count in the sidebar');
  });

  await t.step('opens an experiment: top-level runs, children nested', async () => {
    await page.locator('.experiment a', { hasText: s.experiment_name }).click();
    await waitTotal(s.top_level_runs);
    const parent = page.locator('.row.virtual', { hasText: s.parent_name });
    await parent.locator('.expander').click();
    await page.locator('.row.child', { hasText: s.child_name }).waitFor();
  });

  await t.step('filters runs in MLflow syntax', async () => {
    await page.fill('.filter-input', s.filter);
    await page.press('.filter-input', 'Enter');
    await waitTotal(s.filter_matches);
    assert(decodeURIComponent(page.url()).includes(s.filter), 'the filter is in the URL');
  });

  await t.step('a bad filter shows an error and keeps the table', async () => {
    await page.fill('.filter-input', 'metrics.acc >> 0.5');
    await page.locator('.inline-error').waitFor();
    const msg = await page.locator('.inline-error').textContent();
    assert(msg.length > 5, `error text: ${msg}`);
    assert(await page.locator('.filter button').isDisabled(), 'Apply is disabled while the filter is invalid');
    await page.press('.filter-input', 'Enter');
    await waitTotal(s.filter_matches);
    // A bad filter in a pasted link is caught the same way.
    await page.goto(`${base}/#/experiments/${s.experiment_id}?filter=${encodeURIComponent("metrics.acc > 'high'")}`);
    await page.locator('.inline-error').waitFor();
    // What the server refuses shows with its MLflow error code.
    await page.goto(`${base}/#/experiments/not-a-number`);
    await page.locator('.table .error').waitFor();
    assert((await page.locator('.table .error .code').textContent()).includes('INVALID_PARAMETER_VALUE'), 'server error code shown');
  });

  await t.step('sorts on a metric column, both ways', async () => {
    await page.goto(`${base}/#/experiments/${s.experiment_id}`);
    await waitTotal(s.top_level_runs);
    await page.locator('.row.header .cell.head', { hasText: /^acc/ }).click();
    await page.waitForFunction(() => decodeURIComponent(location.hash).includes('acc` DESC'));
    await page.waitForFunction((n) => document.querySelector('.rows .row.virtual .cell.name a')?.textContent === n, s.best_acc_run);
    await page.locator('.row.header .cell.head', { hasText: /^acc/ }).click();
    await page.waitForFunction((n) => document.querySelector('.rows .row.virtual .cell.name a')?.textContent === n, s.worst_acc_run);
  });

  await t.step('groups by a param with aggregated metrics, and opens a group', async () => {
    await page.goto(`${base}/#/experiments/${s.experiment_id}?group_by=params.optimizer`);
    await page.locator('.row.group').first().waitFor();
    const groups = await page.locator('.row.group').count();
    assert(groups === s.group_count, `groups: ${groups}`);
    for (const g of s.groups) {
      const row = page.locator(`.row.group[data-group="${g.value}"]`);
      assert((await row.textContent()).includes(`${g.count} runs`), `group ${g.value} count`);
    }
    await page.locator(`.row.group[data-group="${s.groups[0].value}"]`).click();
    await waitTotal(s.groups[0].count);
  });

  await t.step('opens a run: overview, params, metrics, artifacts', async () => {
    await page.goto(`${base}/#/experiments/${s.experiment_id}`);
    await waitTotal(s.top_level_runs);
    await page.locator('.cell.name a', { hasText: new RegExp(`^${s.run_name}$`) }).click();
    await page.locator('h1.run-name', { hasText: s.run_name }).waitFor();
    assert((await page.locator('table.params').textContent()).includes('optimizer'), 'params shown');
    assert((await page.locator('table.metrics').textContent()).includes('acc'), 'metrics shown');
    await page.locator('button.artifact', { hasText: 'eval' }).click();
    await page.locator('button.artifact', { hasText: 'metrics.csv' }).click();
    await page.locator('table.csv th', { hasText: 'epoch' }).waitFor();
    assert((await page.locator('table.csv tbody tr').count()) === 2, 'two CSV rows under the header');
  });

  await t.step('edits a tag and a note; both survive a reload', async () => {
    await page.fill('.new-tag-key', 'reviewed');
    await page.fill('.new-tag-value', 'yes');
    await page.click('.add-tag-button');
    await page.locator('tr[data-tag="reviewed"]', { hasText: 'yes' }).waitFor();
    await page.click('.edit-note');
    await page.fill('.note-text', s.note);
    await page.locator('.markdown.preview strong').waitFor();
    await page.click('.save-note');
    await page.locator('.note-view strong').waitFor();
    await page.reload();
    await page.locator('.note-view strong', { hasText: 'LR' }).waitFor();
    await page.locator('tr[data-tag="reviewed"]', { hasText: 'yes' }).waitFor();
    // The edit goes through the table too: the run now has a note marker.
    await page.goto(`${base}/#/experiments/${s.experiment_id}`);
    await page.locator('.row.virtual', { hasText: s.run_name }).locator('.note-marker').waitFor();
  });

  await t.step('annotates a metric at a step; the annotation survives a reload', async () => {
    await page.goto(`${base}/#/experiments/${s.experiment_id}/runs/${s.run_id}`);
    await page.locator('.add-annotation select').selectOption('loss');
    await page.fill('.annotation-step', '3');
    await page.fill('.annotation-note', s.annotation);
    await page.fill('.annotation-author', 'ana');
    await page.click('.add-annotation-button');
    await page.locator('table.annotations td.annotation-text', { hasText: s.annotation }).waitFor();
    await page.reload();
    const row = page.locator('table.annotations tr', { hasText: s.annotation });
    await row.waitFor();
    assert((await row.textContent()).includes('ana'), 'author shown');
    // The author is remembered for the next annotation.
    assert((await page.inputValue('.annotation-author')) === 'ana', 'author remembered');
  });

  await t.step('bulk-tags selected runs', async () => {
    await page.goto(`${base}/#/experiments/${s.experiment_id}?order_by=${encodeURIComponent('attributes.run_name ASC')}`);
    await waitTotal(s.top_level_runs);
    const boxes = page.locator('.rows .row.virtual .cell.check input');
    for (let i = 0; i < 3; i++) await boxes.nth(i).check();
    await page.locator('.selection-bar', { hasText: '3 selected' }).waitFor();
    await page.click('.bulk-tag');
    await page.fill('.tag-key', 'batch');
    await page.fill('.tag-value', 'b1');
    await page.click('.apply-tag');
    await page.locator('.notice', { hasText: 'Tagged 3 runs' }).waitFor();
    await page.goto(`${base}/#/experiments/${s.experiment_id}?filter=${encodeURIComponent("tags.batch = 'b1'")}`);
    await waitTotal(3);
  });

  await t.step('column chooser adds a tag column, kept after a reload', async () => {
    await page.goto(`${base}/#/experiments/${s.experiment_id}`);
    await waitTotal(s.top_level_runs);
    await page.click('.columns-button');
    await page.locator('.chooser label', { hasText: 'batch' }).locator('input').check();
    await page.locator('.row.header .cell.head.tag', { hasText: 'batch' }).waitFor();
    await page.reload();
    await page.locator('.row.header .cell.head.tag', { hasText: 'batch' }).waitFor();
  });

  await t.step('pins a run to the top, kept after a reload', async () => {
    await page.goto(`${base}/#/experiments/${s.experiment_id}?order_by=${encodeURIComponent('attributes.run_name ASC')}`);
    await waitTotal(s.top_level_runs);
    const last = page.locator('.rows .row.virtual', { hasText: 'r11' });
    await last.locator('.cell.check input').check();
    await page.click('.selection-bar button:has-text("Pin")');
    await page.locator('.pinned .row', { hasText: 'r11' }).waitFor();
    await page.reload();
    await page.locator('.pinned .row', { hasText: 'r11' }).locator('.pin').waitFor();
  });

  await t.step('compares two runs, only differences', async () => {
    await page.goto(`${base}/#/experiments/${s.experiment_id}?order_by=${encodeURIComponent('attributes.run_name ASC')}`);
    await waitTotal(s.top_level_runs);
    const boxes = page.locator('.rows .row.virtual .cell.check input');
    await boxes.nth(1).check();
    await boxes.nth(2).check();
    await page.click('.selection-bar button:has-text("Compare")');
    await page.locator('h1', { hasText: 'Comparing 2 runs' }).waitFor();
    assert(decodeURIComponent(page.url()).includes('compare-runs?runs=['), 'MLflow-style compare link');
    const all = await page.locator('table.diff tbody tr').count();
    await page.locator('.only-diff').check();
    const diffs = await page.locator('table.diff tbody tr').count();
    assert(diffs < all && diffs > 0, `only differences: ${diffs} of ${all}`);
    assert((await page.locator('table.diff').textContent()).includes('optimizer'), 'the differing param is listed');
  });

  await t.step('charts draw on a canvas and redraw when the series change', async () => {
    const ids = JSON.stringify(s.chart_runs);
    await page.goto(`${base}/#/compare-runs?runs=${encodeURIComponent(ids)}`);
    const canvas = page.locator('canvas.charts-canvas');
    await canvas.waitFor();
    // Two metrics (acc, loss) for each of the three runs.
    await page.waitForFunction((n) => window.__almanacChartSeries >= n, s.chart_runs.length * 2, { timeout: 20000 });
    // egui paints on demand: after a change, wait for a fresh frame.
    const after = async (change) => {
      const f = await page.evaluate(() => window.__almanacChartFrames || 0);
      await change();
      await page.waitForFunction((f) => window.__almanacChartFrames > f, f, { timeout: 20000 });
      await page.waitForTimeout(400);
      return canvas.screenshot();
    };
    await page.waitForTimeout(600);
    const raw = await canvas.screenshot();
    const smoothed = await after(() => page.selectOption('select.smoothing', 'ema'));
    assert(!raw.equals(smoothed), 'smoothing changes the pixels');
    const logged = await after(() => page.locator('input.log-y').check());
    assert(!logged.equals(smoothed), 'log y changes the pixels');
    const empty = await after(() => page.fill('input.metric-search', 'no-such-metric'));
    assert(!empty.equals(logged), 'hiding every chart changes the pixels');
    await after(() => page.fill('input.metric-search', ''));
    // The chart picker switches a chart off.
    await page.click('.chart-picker summary');
    const picked = await after(() => page.locator('.chart-picker input[data-metric="acc"]').uncheck());
    assert((await page.locator('.chart-picker summary').textContent()).includes('1 of 2'), 'one chart left');
    assert(!picked.equals(empty), 'the remaining chart draws');
    await page.click('.chart-picker summary');
    await after(() => page.fill('input.metric-search', 'loss'));
    // The choices are remembered for the experiment.
    await page.reload();
    await canvas.waitFor();
    assert((await page.inputValue('input.metric-search')) === 'loss', 'chart settings persist');
    assert((await page.inputValue('select.smoothing')) === 'ema', 'smoothing persists');
    await page.locator('input.log-y').uncheck();
    await page.selectOption('select.smoothing', '');
  });

  await t.step('clicking a chart point starts an annotation on that run', async () => {
    const canvas = page.locator('canvas.charts-canvas');
    await page.waitForFunction(() => window.__almanacChartSeries >= 3, null, { timeout: 20000 });
    await page.waitForTimeout(500);
    const box = await canvas.boundingBox();
    // The one chart shown (loss) fills the first cell: click inside its plot.
    await page.mouse.click(box.x + box.width * 0.3, box.y + 150);
    await page.locator('.chart-annotation').waitFor();
    await page.fill('.chart-note', 'warmup ends');
    await page.click('.chart-annotation button:has-text("Annotate")');
    await page.locator('.chart-annotation').waitFor({ state: 'detached' });
  });

  await t.step('hover shows a run and its value; a legend click hides a run', async () => {
    const canvas = page.locator('canvas.charts-canvas');
    const box = await canvas.boundingBox();
    // The loss chart fills the left cell; sweep the pointer until it is near a point.
    let hover = '';
    for (let y = 60; y < 260 && !/r0[123]/.test(hover); y += 12) {
      for (let x = 0.06; x < 0.46 && !/r0[123]/.test(hover); x += 0.04) {
        await page.mouse.move(box.x + box.width * x, box.y + y);
        await page.waitForTimeout(40);
        hover = await page.evaluate(() => window.__almanacChartHover || '');
      }
    }
    assert(/r0[123]/.test(hover) && hover.includes('value:'), `hover label: ${hover}`);
    // The legend sits in the plot's top-right corner: click down its entries.
    const cellRight = box.x + box.width / 2 - 8;
    let hidden = '0';
    for (let y = 30; y < 110 && hidden === '0'; y += 6) {
      await page.mouse.click(cellRight - 30, box.y + y);
      await page.waitForTimeout(120);
      hidden = await page.evaluate(() => window.__almanacHidden_loss || '0');
    }
    assert(hidden === '1', `one run hidden by the legend, got ${hidden}`);
    if (await page.locator('.chart-annotation').count()) await page.click('.chart-annotation button:has-text("Cancel")');
  });

  await t.step('parallel coordinates: brushing an axis filters the runs', async () => {
    await page.click('button.tab:has-text("Parallel coordinates")');
    await page.selectOption('select.bar-metric', 'acc');
    await page.waitForFunction(() => window.__almanacBrushedRuns === '3', null, { timeout: 20000 });
    const box = await page.locator('canvas.charts-canvas').boundingBox();
    // Axes: lr, optimizer, acc at x = 0, 1, 2 of a plot spanning x -0.4..2.4 and y -0.12..1.12.
    const left = box.x + 8, right = box.x + box.width - 8, top = box.y + 30, bottom = top + 420;
    const sx = (x) => left + ((x + 0.4) / 2.8) * (right - left);
    const sy = (y) => bottom - ((y + 0.12) / 1.24) * (bottom - top);
    await page.mouse.move(sx(2), sy(1.05));
    await page.mouse.down();
    for (let y = 1.0; y >= 0.7; y -= 0.05) await page.mouse.move(sx(2), sy(y), { steps: 2 });
    await page.mouse.up();
    // acc is 1/12, 2/12, 3/12 for these runs: only the highest stays.
    await page.waitForFunction(() => window.__almanacBrushedRuns === '1', null, { timeout: 10000 })
      .catch(async () => { throw new Error(`brushed runs: ${await page.evaluate(() => window.__almanacBrushedRuns)}`); });
    await page.click('button.tab:has-text("Metric charts")');
  });

  await t.step('parameter importance ranks the params', async () => {
    await page.locator('table.importance-table tr[data-param="lr"]').waitFor();
    await page.locator('table.importance-table tr[data-param="optimizer"]').waitFor();
  });

  await t.step('a saved view reopens with its runs and chart choices', async () => {
    await page.selectOption('select.smoothing', 'twema');
    await page.fill('.view-name', 'smoothed loss');
    await page.click('.save-view');
    await page.locator('.saved-views .notice a', { hasText: 'smoothed loss' }).waitFor();
    // Local choices move on; the view keeps what was saved.
    await page.selectOption('select.smoothing', '');
    await page.goto(`${base}/#/experiments/${s.experiment_id}`);
    await page.goto(`${base}/#/compare-runs?runs=${encodeURIComponent(JSON.stringify(s.chart_runs))}`);
    await page.locator('a.saved-view', { hasText: 'smoothed loss' }).click();
    await page.locator('.view-title', { hasText: 'smoothed loss' }).waitFor();
    await page.locator('h1', { hasText: `Comparing ${s.chart_runs.length} runs` }).waitFor();
    assert((await page.inputValue('select.smoothing')) === 'twema', 'the view restores its smoothing');
    assert(page.url().includes('#/views/'), 'a view has its own link');
    await page.waitForFunction((n) => window.__almanacChartSeries >= n, s.chart_runs.length, { timeout: 20000 });
    await page.selectOption('select.smoothing', '');
  });

  await t.step('creates, renames, deletes and restores an experiment', async () => {
    await page.goto(`${base}/#/`);
    await page.click('.sidebar-head button');
    await page.fill('input.create', 'made-in-ui');
    await page.press('input.create', 'Enter');
    await page.locator('.experiment.selected', { hasText: 'made-in-ui' }).waitFor();
    await page.locator('.experiment', { hasText: 'made-in-ui' }).hover();
    await page.locator('.experiment', { hasText: 'made-in-ui' }).locator('button[title="Rename"]').click();
    await page.fill('input.rename', 'renamed-in-ui');
    await page.press('input.rename', 'Enter');
    await page.locator('.experiment', { hasText: 'renamed-in-ui' }).waitFor();
    page.once('dialog', (d) => d.accept());
    await page.locator('.experiment', { hasText: 'renamed-in-ui' }).hover();
    await page.locator('.experiment', { hasText: 'renamed-in-ui' }).locator('button[title="Delete"]').click();
    await page.locator('.experiment', { hasText: 'renamed-in-ui' }).waitFor({ state: 'detached' });
    await page.locator('.sidebar label.check input').check();
    await page.locator('.experiment.deleted', { hasText: 'renamed-in-ui' }).locator('button[title="Restore"]').click();
    await page.locator('.experiment:not(.deleted)', { hasText: 'renamed-in-ui' }).waitFor();
  });

  await t.step('prompt versions side by side', async () => {
    await page.goto(`${base}/#/prompts`);
    await page.locator('table.models a', { hasText: s.prompt_name }).click();
    await page.locator('table.prompt-diff td.added', { hasText: 'politely' }).waitFor();
    assert((await page.locator('table.prompt-diff td.removed').first().textContent()).includes('Hello'), 'old line on the left');
  });

  await t.step('keyboard: arrows move, Enter opens', async () => {
    await page.goto(`${base}/#/experiments/${s.experiment_id}?order_by=${encodeURIComponent('attributes.run_name ASC')}`);
    await waitTotal(s.top_level_runs);
    const names = await rowNames();
    await page.focus('.table');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await page.locator('h1.run-name', { hasText: names[1] }).waitFor();
  });

  await t.step('opens the link the mlflow client printed', async () => {
    await page.goto(s.printed_link);
    await page.locator('h1.run-name', { hasText: s.printed_run_name }).waitFor();
  });

  await t.step('registry pages: model, versions, alias', async () => {
    await page.goto(`${base}/#/models`);
    await page.locator('table.models a', { hasText: s.model_name }).click();
    await page.locator('.chip', { hasText: '@champion' }).first().waitFor();
    await page.locator('table.versions a', { hasText: 'v1' }).click();
    await page.locator('h1', { hasText: `${s.model_name} v1` }).waitFor();
    // Lineage: the source run opens, under its own experiment.
    await page.locator('.facts a', { hasText: s.model_run_id }).click();
    await page.locator('h1.run-name', { hasText: 'r03' }).waitFor();
    await page.locator('.experiment.selected', { hasText: s.experiment_name }).waitFor();
    assert(page.url().includes(`/experiments/${s.experiment_id}/runs/${s.model_run_id}`), `corrected address: ${page.url()}`);
  });

  await t.step('traces: the list, a trace\'s span tree, the empty state', async () => {
    await page.goto(`${base}/#/experiments/${s.experiment_id}`);
    await page.locator('.experiment-tabs .traces-tab').click();
    await page.locator('table.traces tr.trace').first().waitFor();
    assert((await page.locator('table.traces tr.trace').count()) === s.traces, 'every trace is listed');
    await page.locator('table.traces .open-trace', { hasText: 'ui-agent' }).first().click();
    await page.locator('table.spans tr.span[data-depth="1"]', { hasText: 'ui-retrieve' }).waitFor();
    const root = await page.locator('table.spans tr.span[data-depth="0"]').textContent();
    assert(root.includes('ui-agent') && root.includes('AGENT'), `the root span comes first: ${root}`);
    assert((await page.locator('table.spans tr.span[data-depth="1"]').textContent()).includes('"q"'), 'span inputs shown');
    await page.goto(`${base}/#/experiments/${s.empty_experiment_id}/traces`);
    await page.locator('.empty', { hasText: 'No traces' }).waitFor();
  });

  await t.step('empty and error states', async () => {
    await page.goto(`${base}/#/experiments/${s.empty_experiment_id}`);
    await page.locator('.empty', { hasText: 'No runs in this experiment yet' }).waitFor();
    await page.goto(`${base}/#/experiments/${s.experiment_id}/runs/${'f'.repeat(32)}`);
    await page.locator('.error .code', { hasText: 'RESOURCE_DOES_NOT_EXIST' }).waitFor();
    await page.goto(`${base}/#/no/such/view`);
    await page.locator('.empty', { hasText: 'Nothing lives at this address' }).waitFor();
  });

  await t.step('dark mode follows the system', async () => {
    const dark = await launch({ colorScheme: 'dark' });
    await dark.page.goto(`${base}/#/`);
    await dark.page.locator('.experiment').first().waitFor();
    const bg = await dark.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const [r, g, b] = bg.match(/\d+/g).map(Number);
    assert(r + g + b < 150, `dark background, got ${bg}`);
    await dark.context.close();
  });

  assert(errors.length === 0, `page errors: ${errors.join('\n')}`);
  console.log(`${t.passed} browser steps passed`);
} finally {
  await context.close();
}
