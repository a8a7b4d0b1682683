// The Temporal Web UI in a real browser: a ServiceSet reconciled by the in-process adapter is looked up in
// the Web UI of the test control plane (headless Debian Chromium driven by playwright-core), whose event
// history must show our workflow type and activities. A full-page screenshot goes to test-artifacts/.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { workflowIdFor } from '../../src/workflow/constants';
import { fluxObjectName } from '../../src/plan/names';
import { paths } from '../../src/kube/paths';
import { startTestAdapter, type TestAdapter } from '../support/adapter';
import {
  createHelmTemplate,
  createKubeconfigSecret,
  createNamespace,
  createServiceSet,
  createSmp,
  eventually,
  getServiceSet,
  testEnv,
  uniqueName,
} from '../support/env';

const repo = path.resolve(__dirname, '..', '..');
const artifacts = path.join(repo, 'test-artifacts');
const CHROMIUM = process.env.KSM_FLUX_CHROMIUM ?? '/usr/bin/chromium';

/** Flags for a headless Chromium on a machine with a closed network (no background connections). */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function assertChromium(): void {
  assert.ok(
    fs.existsSync(CHROMIUM),
    `Chromium not found at ${CHROMIUM}. This test needs Debian's chromium package: ` +
      '`apt-get update && apt-get install -y chromium` as root (or set KSM_FLUX_CHROMIUM to a Chromium binary).',
  );
}

/**
 * A full-page screenshot. The Web UI scrolls an inner container rather than the document, so the viewport
 * is first made as tall as that container's content (capped), then captured down to the last content.
 * (Page scripts are strings: this project's TypeScript has no DOM types.)
 */
async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(artifacts, { recursive: true });
  const file = path.join(artifacts, `temporal-ui-${name}.png`);
  const viewport = page.viewportSize() ?? { width: 1600, height: 1000 };
  // How much the page's viewport-high scrolling container still hides; grow the viewport until nothing
  // (the event table renders more rows as it gets room, so this takes a few rounds).
  const hidden = () =>
    page.evaluate<number>(`(() => {
      let extra = 0;
      for (const el of document.querySelectorAll('*')) {
        if (el.clientHeight < 0.8 * window.innerHeight) continue; // menus, the timeline: not viewport-high
        if (!el.checkVisibility({ opacityProperty: true, visibilityProperty: true })) continue;
        const overflow = getComputedStyle(el).overflowY;
        if (overflow === 'auto' || overflow === 'scroll') extra = Math.max(extra, el.scrollHeight - el.clientHeight);
      }
      return extra;
    })()`);
  let height = viewport.height;
  for (let round = 0, extra = await hidden(); round < 8 && extra > 1 && height < 15_000; round++) {
    height = Math.min(height + extra, 15_000);
    await page.setViewportSize({ width: viewport.width, height });
    await page.waitForTimeout(500);
    extra = await hidden();
  }
  const contentBottom = await page.evaluate<number>(`(() => {
    let bottom = 0;
    for (const el of document.querySelectorAll('body *')) {
      if (el.children.length || !(el.textContent || '').trim()) continue;
      if (!el.checkVisibility({ opacityProperty: true, visibilityProperty: true }) || el.closest('nav, aside')) continue;
      const r = el.getBoundingClientRect();
      if (r.width && r.height && r.bottom < ${height} - 80) bottom = Math.max(bottom, r.bottom);
    }
    return Math.ceil(bottom);
  })()`);
  const clipHeight = Math.min(height, Math.max(viewport.height, contentBottom + 40));
  await page.screenshot({ path: file, clip: { x: 0, y: 0, width: viewport.width, height: clipHeight } });
  await page.setViewportSize(viewport);
  return file;
}

describe('Temporal Web UI (headless Chromium)', () => {
  const { kube } = testEnv();
  const ns = uniqueName('browser');
  let adapter: TestAdapter | undefined;
  let context: BrowserContext | undefined;
  let profile: string | undefined;
  let connection: Connection | undefined;

  after(async () => {
    await context?.close().catch(() => undefined);
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
    await connection?.close().catch(() => undefined);
    await adapter?.stop();
  });

  it(
    'shows the ServiceSet workflow with observe, applyServices and writeStatus in its event history',
    { timeout: 240_000 },
    async (t) => {
      // In the test itself, not a hook, so that a missing browser is a failed test rather than a cancelled one.
      assertChromium();
      assert.ok(testEnv().temporalUiUrl, 'the test control plane runs the Temporal Web UI (TEMPORAL_UI_URL)');
      profile = fs.mkdtempSync(path.join(os.tmpdir(), 'ksm-flux-chromium-'));
      context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_ARGS,
        viewport: { width: 1600, height: 1000 },
      });
      const a = (adapter = await startTestAdapter());
      const smp = uniqueName('smp');
      await createNamespace(kube, ns);
      await createSmp(kube, { name: smp, adapterName: a.cfg.adapterName, adapterNamespace: a.cfg.adapterNamespace });
      await createHelmTemplate(kube, ns, 'chart');
      await createKubeconfigSecret(kube, ns, 'cluster1');
      const ss = await createServiceSet(kube, {
        namespace: ns,
        name: 'ui',
        provider: smp,
        labels: { 'ksm.k0rdent.mirantis.com/adapter': a.cfg.adapterName },
        services: [{ name: 'app', namespace: 'web', template: 'chart', version: '1.0.0' }],
      });
      const uid = ss.metadata.uid!;
      const hr = { kind: 'HelmRelease' as const, namespace: ns, name: fluxObjectName('ui', 'web', 'app') };
      await eventually('HelmRelease', () => kube.get(paths.flux(hr)), 60_000);
      await eventually(
        'ServiceSet status written',
        async () => (await getServiceSet(kube, ns, 'ui'))?.status?.services?.length === 1,
        30_000,
      );

      const env = testEnv();
      connection = await Connection.connect({ address: env.temporalAddress });
      const client = new Client({ connection, namespace: env.temporalNamespace });
      const workflowId = workflowIdFor(uid);
      const { runId, type } = await client.workflow.getHandle(workflowId).describe();
      assert.equal(type, 'serviceSetWorkflow');

      const page = await context.newPage();
      const base = `${env.temporalUiUrl}/namespaces/${encodeURIComponent(env.temporalNamespace)}/workflows/${encodeURIComponent(workflowId)}`;
      try {
        // The link without a run (what a ServiceSet's workflow annotation leads to) opens the current run.
        const short = await page.goto(base, { waitUntil: 'domcontentloaded' });
        assert.ok(short?.ok(), `the Web UI answered ${short?.status()} for ${base}`);
        await page.getByText(runId, { exact: true }).first().waitFor({ timeout: 30_000 });
        t.diagnostic(`${base} shows run ${runId} (${page.url()})`);

        // The run's event history page of this UI version: /namespaces/<ns>/workflows/<id>/<runId>/history.
        const url = `${base}/${runId}/history`;
        const res = await page.goto(url, { waitUntil: 'domcontentloaded' });
        assert.ok(res?.ok(), `the Web UI answered ${res?.status()} for ${url}`);
        await page.getByText('Event History', { exact: true }).first().waitFor({ timeout: 30_000 });
        // Oldest first, so the first pass (addFinalizer, applyServices, writeStatus) is on the first page.
        const descending = page.getByRole('button', { name: 'Descending' });
        if (await descending.count()) {
          await descending.first().click();
          await page.getByRole('button', { name: 'Ascending' }).first().waitFor();
        }
        const rows = page.locator('tr[data-testid="event-summary-row"]');
        const started = rows.filter({ hasText: 'Workflow Execution Started' });
        await started.first().waitFor({ timeout: 30_000 });
        assert.match(await started.first().innerText(), /serviceSetWorkflow/, 'workflow type in the first event');
        const header = page.getByText('Workflow Type', { exact: true }).locator('..');
        assert.match(await header.innerText(), /serviceSetWorkflow/, 'workflow type in the summary');

        // A pass's Kubernetes calls are local activities (patch fast-pass-1): the UI shows each recorded marker as a
        // "Local Activity" row with its activity type; histories from before the patch have activity tasks.
        const scheduled = rows.filter({ hasText: /Local Activity|Activity Task Scheduled/ });
        for (const type of ['observe', 'applyServices', 'writeStatus'])
          await scheduled
            .filter({ hasText: new RegExp(`Activity Type\\s*${type}\\b`) })
            .first()
            .waitFor({ timeout: 30_000 })
            .catch(() => assert.fail(`no Local Activity row for ${type} in the event history`));
        const shown = new Set(
          (await scheduled.allInnerTexts()).map((x) => /Activity Type\s*(\w+)/.exec(x)?.[1]).filter(Boolean),
        );
        t.diagnostic(`activity types in the history: ${[...shown].sort().join(', ')}`);
        assert.ok(['observe', 'applyServices', 'writeStatus'].every((x) => shown.has(x)));
        // The timeline above the table labels its bars with the same activity types.
        for (const type of ['observe', 'applyServices', 'writeStatus'])
          assert.ok(
            (await page.locator('svg text', { hasText: new RegExp(`^${type}$`) }).count()) > 0,
            `timeline bar for ${type}`,
          );
      } finally {
        t.diagnostic(`screenshot ${path.relative(repo, await screenshot(page, 'history'))}`);
      }
    },
  );
});
