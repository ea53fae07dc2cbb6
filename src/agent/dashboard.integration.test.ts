import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import http from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createTestProject, readAgentInfo, REPO_ROOT, type TestProject } from '../../test/support/project.js';
import { freePort } from '../util/ports.js';

// End to end in real headless Chromium (Debian's `chromium`; .ci/run installs it) against a real agent
// deploying a real service. The screenshots are the README's pictures of each view: written over
// docs/screenshots with FERRY_SCREENSHOTS=1, else into a temporary folder (a test run leaves the checkout as it was).
const CHROMIUM = process.env.FERRY_TEST_CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOTS = process.env.FERRY_SCREENSHOTS === '1' ? join(REPO_ROOT, 'docs/screenshots') : mkdtempSync(join(tmpdir(), 'ferry-screenshots-'));
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Production declares a secret; its value must never reach a page, an event or an API answer the page reads. */
const SECRET = { API_KEY: 'dashboard-secret-3f9c1e7a' };

let project: TestProject;
let browser: Browser;
let url: string;
let tokens: { admin: string; read: string };

async function token(readOnly: boolean): Promise<string> {
  const result = await project.ferry(['token', ...(readOnly ? ['--read-only'] : [])]);
  expect(result.code, result.stderr).toBe(0);
  return result.stdout.trim();
}

async function signIn(page: Page, value: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel('Token').fill(value);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('article[data-env="production"]').waitFor();
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`the dashboard's end-to-end tests need Chromium at ${CHROMIUM}: apt-get install chromium (or set FERRY_TEST_CHROMIUM)`);
  mkdirSync(SCREENSHOTS, { recursive: true });
  project = await createTestProject();
  project.writeConfig((config) => {
    config.environments.production.secrets = ['API_KEY'];
    // The traffic charts' samples: often enough for a test to see them move.
    config.agent = { ...config.agent, traffic_sample_interval: '500ms' };
  });
  // What the page shows comes from the repository: a subject that is markup must show as text.
  project.commit({ 'NOTES.md': 'x\n' }, '<img src=x onerror="document.title=\'pwned\'"> & "quotes"');
  const deployed = await project.ferry(['deploy', 'production'], SECRET);
  expect(deployed.code, deployed.stdout + deployed.stderr).toBe(0);
  url = readAgentInfo(project).url;
  tokens = { admin: await token(false), read: await token(true) };
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await project?.cleanup();
  if (process.env.FERRY_SCREENSHOTS !== '1') rmSync(SCREENSHOTS, { recursive: true, force: true });
});

describe('the dashboard, in Chromium', () => {
  let context: BrowserContext;
  let page: Page;
  beforeAll(async () => {
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
  });
  afterAll(() => context.close());

  it('asks for a token, refuses a wrong one, and shows the environments with a read-only one; markup from a commit stays text', async () => {
    await page.goto(url);
    await expect(page.getByRole('heading', { name: 'Sign in' }).isVisible()).resolves.toBe(true);
    await page.getByLabel('Token').fill('0'.repeat(48));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#sign-in-error:not(:empty)').waitFor();
    expect(await page.locator('#sign-in-error').textContent()).toMatch(/wrong token/);
    await signIn(page, tokens.read);
    const card = page.locator('article[data-env="production"]');
    await expect(card.textContent()).resolves.toContain('r1');
    await expect(card.textContent()).resolves.toContain('<img src=x onerror="document.title=\'pwned\'"> & "quotes"');
    expect(await card.locator('img').count()).toBe(0);
    expect(await page.title()).toBe('ferry · hello');
    // Who wrote the serving commit, and since when it serves.
    await expect(card.locator('dt:has-text("by") + dd').textContent()).resolves.toBe('t');
    await expect(card.locator('dt:has-text("serving since") + dd').textContent()).resolves.toMatch(/\d+ s ago/);
    // A read-only session is offered no action.
    expect(await card.getByRole('button', { name: 'Roll back…' }).count()).toBe(0);
    const cookie = (await context.cookies()).find((each) => each.name === 'ferry_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(cookie?.value).not.toContain(tokens.read);
    await page.screenshot({ path: join(SCREENSHOTS, 'environments.png'), fullPage: true });
  });

  it('a read-only session may look, not change', async () => {
    const answer = await page.evaluate(async () => {
      const response = await fetch('/api/rollbacks', { method: 'POST', headers: { 'x-ferry-csrf': '1', 'content-type': 'application/json' }, body: '{"env":"production"}' });
      return { status: response.status, body: await response.json() };
    });
    expect(answer).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } });
    // Logs are the project's own output and can hold anything: not for the token meant for sharing.
    const logs = await page.evaluate(async () => (await fetch('/api/logs?env=production&lines=5')).status);
    expect(logs).toBe(403);
  });

  it('shows a deployment live, step by step, as the agent runs it', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await signIn(page, tokens.admin);
    project.commit({ 'NOTES.md': 'y\n' }, 'second release');
    const deploy = project.ferry(['deploy', 'production'], SECRET);
    const seen = new Set<string>();
    // Each step is seen running or done on the page while the CLI still waits for the deploy.
    const watch = (async () => {
      for (let i = 0; i < 400 && seen.size < 6; i++) {
        for (const state of await page.locator('article[data-env="production"] li[data-step]').evaluateAll((items) => items.map((item) => `${(item as HTMLElement).dataset.step}:${(item as HTMLElement).dataset.state}`))) seen.add(state);
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    const result = await deploy;
    await watch;
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect([...seen].some((state) => state.endsWith(':running'))).toBe(true);
    await page.locator('article[data-env="production"] li[data-step="switch"][data-state="succeeded"]').waitFor();
    await page.locator('article[data-env="production"] h4', { hasText: 'succeeded' }).waitFor();
    await page.locator('article[data-env="production"] dd', { hasText: 'r2' }).first().waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'deployment-live.png'), fullPage: true });
  });

  it("shows each environment's live traffic from the router's counters", async () => {
    const traffic = page.locator('article[data-env="production"] dt:has-text("traffic") + dd');
    const load = (async () => {
      for (let i = 0; i < 60; i++) await fetch(`http://127.0.0.1:${project.ports.production}/`).then((r) => r.text());
    })();
    await traffic.filter({ hasText: /[1-9][\d.]* req\/s · 0\.00 % errors · p99 [\d.]+ ms \(last \d s\)/ }).waitFor({ timeout: 15_000 });
    await load;
    // Staging serves nothing and answers nothing: its interval has no error ratio and no p99, not zeros.
    await expect(page.locator('article[data-env="staging"] dt:has-text("traffic") + dd').textContent()).resolves.toMatch(/no data/);
  });

  it('rolls back from the page, after a confirmation, with the progress streamed into the dialog', async () => {
    await page.getByRole('link', { name: 'Environments' }).click();
    const card = page.locator('article[data-env="production"]');
    await card.getByRole('button', { name: 'Roll back…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Roll back production' });
    await dialog.waitFor();
    await expect(dialog.getByLabel('Release to go back to').inputValue()).resolves.toBe('r1');
    await page.screenshot({ path: join(SCREENSHOTS, 'rollback-confirm.png') });
    await dialog.getByRole('button', { name: 'Roll back production' }).click();
    await dialog.getByText('rollback: succeeded').waitFor({ timeout: 30_000 });
    expect(await dialog.getByRole('log').textContent()).toContain('switch: succeeded');
    await dialog.getByRole('button', { name: 'Close' }).click();
    await card.locator('dd', { hasText: /^r1 ·/ }).waitFor();
    const served = (await fetch(`http://127.0.0.1:${project.ports.production}/`).then((r) => r.json())) as { release: string };
    expect(served.release).toBe('r1');
  });

  it('shows the timeline: every deployment with its steps, and a failed one with its log lines', async () => {
    project.commit({ 'server.js': "console.log('boom: the release cannot start'); process.exit(1);\n" }, 'a release that cannot start');
    const failed = await project.ferry(['deploy', 'production'], SECRET);
    expect(failed.code, failed.stdout + failed.stderr).toBe(1);
    await page.getByRole('link', { name: 'Timeline' }).click();
    await page.locator('#timeline-env').selectOption('production');
    const halted = page.locator('#timeline li.event[data-outcome="halted"]').first();
    await halted.waitFor();
    await halted.locator('summary').click();
    expect(await halted.locator('pre.logs').first().textContent()).toContain('boom: the release cannot start');
    const outcomes = await page.locator('#timeline li.event').evaluateAll((items) => items.map((item) => `${(item as HTMLElement).dataset.outcome}`));
    expect(outcomes).toEqual(['halted', 'succeeded', 'succeeded', 'succeeded']);
    expect(await page.locator('#timeline li.event[data-deployment="3"] h3').textContent()).toMatch(/#3 rollback r1/);
    await page.screenshot({ path: join(SCREENSHOTS, 'timeline.png'), fullPage: true });
    await page.getByRole('link', { name: 'Environments' }).click();
  });

  it('shows the delivery keys with their level and a trend chart each, and the requests per release', async () => {
    await page.getByRole('link', { name: 'Delivery' }).click();
    const failureRate = page.locator('#delivery .tile[data-key="changeFailureRate"]');
    await failureRate.waitFor();
    // Two deploys reached production; r2 was rolled back afterwards (the halted r3 never switched).
    expect(await failureRate.textContent()).toMatch(/50\.0 %level: low/);
    expect(await page.locator('#delivery .tile[data-key="deploymentFrequency"]').textContent()).toMatch(/0\.07 \/ daylevel: medium/);
    await page.locator('#delivery-body figure.chart canvas').nth(3).waitFor();
    expect(await page.locator('#delivery-body figure.chart').count()).toBe(4);
    // A period without a deploy deployed 0 times a day, but has no lead time: that is said in words and drawn as a gap, not as 0.
    const frequency = await page.locator('#delivery-body figure.chart [role="img"]').nth(0).getAttribute('aria-label');
    const leadTime = await page.locator('#delivery-body figure.chart [role="img"]').nth(1).getAttribute('aria-label');
    expect(frequency).toMatch(/^Deployment frequency, per period: .* 0\.00 \/ day;/);
    expect(leadTime).toMatch(/^Lead time for changes, per period: .* no data;/);
    expect(leadTime).not.toMatch(/ 0 ms/);
    const releases = await page.getByRole('region', { name: 'requests per release' }).textContent();
    expect(releases).toMatch(/r1\d+/);
    // Each release over time, from the agent's samples: r2 served before the rollback, r1 since; the halted r3 never served.
    const traffic = (n: number) => page.locator('#traffic-body figure.chart [role="img"]').nth(n).getAttribute('aria-label');
    await page.locator('#traffic-body figure.chart canvas').nth(3).waitFor();
    expect(await page.locator('#traffic-body figure.chart').count()).toBe(4);
    const p99 = await traffic(0);
    expect(p99).toMatch(/^p99 latency by release: r2: latest [\d.]+ ms, highest [\d.]+ ms, \d+ of \d+ periods no data; r1: latest [\d.]+ ms/);
    expect(p99).not.toContain('r3');
    // The charts follow the samples: a burst of requests to r1 shows in its rate without a reload.
    const highest = (label: string | null) => Number(/r1: latest [\d.]+ \/s, highest ([\d.]+) \/s/.exec(label ?? '')?.[1] ?? NaN);
    const before = highest(await traffic(3));
    expect(before).not.toBeNaN();
    for (let i = 0; i < 300; i++) await fetch(`http://127.0.0.1:${project.ports.production}/`).then((r) => r.text());
    await expect.poll(async () => highest(await traffic(3)), { timeout: 20_000 }).toBeGreaterThan(before);
    await page.screenshot({ path: join(SCREENSHOTS, 'delivery.png'), fullPage: true });
    await page.getByRole('link', { name: 'Environments' }).click();
  });

  it("shows pipeline runs with their stages and logs, and each scan tool's findings, or that it did not scan", async () => {
    project.commit({ 'server.js': readFileSync(join(REPO_ROOT, 'example/server.js'), 'utf8') }, 'the server starts again');
    const ci = await project.ferry(['ci', '--stage', 'audit', 'licenses', 'test']);
    expect(ci.code, ci.stdout + ci.stderr).toBe(0);
    await page.getByRole('link', { name: 'Pipelines' }).click();
    const run = page.locator('#pipelines li.event').first();
    await run.waitFor();
    expect(await run.getAttribute('data-outcome')).toBe('succeeded');
    const test = run.locator('li[data-stage="test"]');
    expect(await test.getAttribute('data-state')).toBe('succeeded');
    await test.locator('summary').click();
    // node --test's summary: TAP on Node 20 (`# pass 4`), the spec reporter on 22 and 24 (`ℹ pass 4`).
    expect(await test.locator('pre.logs').textContent()).toMatch(/^(#|ℹ) pass [1-9]\d*$/m);
    // The audit and licence stages ran `ferry scan`; Trivy and dependency-check never did: not scanned, not clean.
    for (const tool of ['npm-audit', 'licenses']) expect(await page.locator(`#security-list article[data-tool="${tool}"]`).getAttribute('data-scanned')).toBe('true');
    const trivy = page.locator('#security-list article[data-tool="trivy"]');
    expect(await trivy.getAttribute('data-scanned')).toBe('false');
    expect(await trivy.textContent()).toMatch(/not scanned[^]*ferry scan has not run trivy/);
    expect(await trivy.locator('.ok').count()).toBe(0);
    await page.screenshot({ path: join(SCREENSHOTS, 'pipelines.png'), fullPage: true });
    await page.getByRole('link', { name: 'Environments' }).click();
  });

  it('promotes from the page after the smoke checks, and shows why it refuses when they fail', async () => {
    await page.getByRole('link', { name: 'Environments' }).click();
    const staging = page.locator('article[data-env="staging"]');
    const promoteOnce = async () => {
      await staging.getByRole('button', { name: 'Promote…' }).click();
      const dialog = page.getByRole('dialog', { name: 'Promote to staging' });
      await dialog.getByLabel('Environment to promote from').selectOption('production');
      await dialog.getByRole('button', { name: 'Promote to staging' }).click();
      await dialog.locator('.action-result:not(:has-text("running…"))').waitFor({ timeout: 30_000 });
      const said = await dialog.locator('.action-result').textContent();
      await dialog.getByRole('button', { name: 'Close' }).click();
      return said;
    };
    // Production's last deployment (r3) halted: nothing is promoted.
    expect(await promoteOnce()).toMatch(/not promoting production to staging: its last deployment \(#4\) ended halted; nothing was changed/);
    const good = await project.ferry(['deploy', 'production'], SECRET);
    expect(good.code, good.stdout + good.stderr).toBe(0);
    expect(await promoteOnce()).toBe('promote: succeeded');
    const [production, promoted] = await Promise.all([project.ports.production, project.ports.staging].map((port) => fetch(`http://127.0.0.1:${port}/`).then((r) => r.json() as Promise<{ release: string }>)));
    expect(production.release).toBe('r4');
    await staging.locator('dd', { hasText: /^r5 ·/ }).waitFor();
    expect(promoted.release).toBe('r5');
    // r4's commit is the one `ferry ci` checked: its timeline entry leads to that pipeline run.
    await page.getByRole('link', { name: 'Timeline' }).click();
    await page.locator('#timeline-env').selectOption('production');
    const r4 = page.locator('#timeline li.event', { hasText: '#5 deploy r4' });
    await r4.getByRole('link', { name: 'pipeline run #1' }).waitFor();
    expect(await r4.textContent()).toMatch(/pipeline run #1 succeeded/);
    expect(await page.locator('#timeline li.event', { hasText: '#4 deploy r3' }).textContent()).toContain('no pipeline run of this commit');
    await page.getByRole('link', { name: 'Environments' }).click();
  });

  it('reports its weight and time to first render', async () => {
    const figures = await page.evaluate(() => {
      const resources = performance.getEntriesByType('resource') as PerformanceResourceTiming[];
      const navigation = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      const paint = performance.getEntriesByName('first-contentful-paint')[0];
      return { bytes: navigation.encodedBodySize + resources.filter((r) => !r.name.includes('/api/')).reduce((sum, r) => sum + r.encodedBodySize, 0), firstPaintMs: paint?.startTime ?? null };
    });
    console.log(`dashboard: page weight ${(figures.bytes / 1024).toFixed(1)} KiB (page, script, styles, uPlot), first contentful paint ${figures.firstPaintMs?.toFixed(0) ?? 'not measured'} ms`);
    expect(figures.bytes).toBeLessThan(200 * 1024);
  });
});

describe('the dashboard on a phone-sized screen, and its accessibility', () => {
  it('every view fits a 390 px wide screen and axe-core finds no violation in any', async () => {
    // axe-core is injected as a script: this context alone lets it past the page's Content-Security-Policy.
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, bypassCSP: true, deviceScaleFactor: 2 });
    const page = await context.newPage();
    type Axe = { axe: { run: () => Promise<{ violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[]; failureSummary?: string }> }>; passes: unknown[] }> } };
    const audit = async () => {
      await page.addScriptTag({ content: AXE });
      const result = await page.evaluate(async () => {
        const run = await (window as unknown as Axe).axe.run();
        return { violations: run.violations.map((v) => `${v.id} (${v.impact}: ${v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary ?? ''}`).join(', ')})`), passes: run.passes.length };
      });
      const wider = await page.evaluate(() => [...document.querySelectorAll('body *')].filter((node) => !node.closest('.table-wrap, pre') && node.getBoundingClientRect().right > window.innerWidth + 1).map((node) => `${node.tagName}.${node.className}#${node.id}: ${Math.round(node.getBoundingClientRect().right)} px`));
      const scrolls = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
      return { ...result, wider, scrolls };
    };
    try {
      await page.goto(url);
      const views: Record<string, Awaited<ReturnType<typeof audit>>> = { 'sign-in': await audit() };
      await signIn(page, tokens.read);
      views.environments = await audit();
      await page.screenshot({ path: join(SCREENSHOTS, 'phone.png'), fullPage: true });
      for (const [view, ready] of [
        ['Timeline', '#timeline li.event'],
        ['Delivery', '#delivery figure.chart canvas'],
        ['Pipelines', '#pipelines li.event'],
      ] as const) {
        await page.getByRole('link', { name: view }).click();
        await page.locator(ready).first().waitFor();
        views[view.toLowerCase()] = await audit();
      }
      for (const [view, result] of Object.entries(views)) console.log(`dashboard at 390 px, ${view}: axe-core ${result.passes} rules passed, violations: ${result.violations.join(', ') || 'none'}`);
      for (const [view, result] of Object.entries(views)) {
        expect(result.violations, view).toEqual([]);
        expect(result.wider, `${view}: elements wider than a 390 px screen (a table or a log scrolls in its own box)`).toEqual([]);
        expect(result.scrolls, `${view} scrolls sideways`).toBe(false);
      }
    } finally {
      await context.close();
    }
  });
});

describe("the dashboard's security", () => {
  it("never carries a secret's value: not in the page, its event stream or any API answer it reads", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const seen: string[] = [];
    page.on('response', (response) => {
      if (response.url().startsWith(url) && !response.url().includes('/api/events')) seen.push(response.url());
    });
    try {
      await signIn(page, tokens.admin);
      for (const view of ['Timeline', 'Delivery', 'Pipelines', 'Environments']) {
        await page.getByRole('link', { name: view }).click();
        await page.waitForLoadState('networkidle');
      }
      const bodies = await Promise.all(
        [...new Set(seen)].map(async (address) => (await fetch(address, { headers: { authorization: `Bearer ${tokens.admin}` } })).text()),
      );
      // The event stream, read for a few seconds (status ticks every 2 s).
      const events = await fetch(`${url}/api/events`, { headers: { authorization: `Bearer ${tokens.admin}` }, signal: AbortSignal.timeout(4500) })
        .then(async (response) => {
          let text = '';
          const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
          for (;;) {
            const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
            if (done) return text;
            text += value;
          }
        });
      expect(seen.length).toBeGreaterThan(8);
      expect(events).toContain('event: status');
      for (const text of [...bodies, events, await page.content()]) expect(text.includes(SECRET.API_KEY)).toBe(false);
      // The secret did reach production's release (where it belongs).
      const env = readFileSync(join(project.stateDir, 'releases/production/r4/.env'), 'utf8');
      expect(env).toContain(SECRET.API_KEY);
      // A deploy from the page: the page has no shell to read secrets from, so the agent gives the new release
      // the serving release's values, and the page sees none of them.
      await page.getByRole('link', { name: 'Environments' }).click();
      await page.locator('article[data-env="production"]').getByRole('button', { name: 'Deploy…' }).click();
      const dialog = page.getByRole('dialog', { name: 'Deploy to production' });
      await dialog.getByLabel('Git ref (branch, tag or commit)').fill('HEAD');
      expect(await dialog.textContent()).toMatch(/r4 serves now; the secrets production declares keep its values/);
      await dialog.getByRole('button', { name: 'Deploy to production' }).click();
      await dialog.getByText('deploy: succeeded').waitFor({ timeout: 60_000 });
      const deployed = /result: succeeded \((r\d+)\)/.exec((await dialog.getByRole('log').textContent()) ?? '')?.[1];
      expect(deployed).toMatch(/^r\d+$/);
      expect(readFileSync(join(project.stateDir, `releases/production/${deployed}/.env`), 'utf8')).toContain(`API_KEY="${SECRET.API_KEY}"`);
      expect((await page.content()).includes(SECRET.API_KEY)).toBe(false);
    } finally {
      await context.close();
    }
  });

  it('serves a strict Content-Security-Policy and refuses an unauthenticated action', async () => {
    const page = await fetch(`${url}/`);
    expect(page.headers.get('content-security-policy')).toBe("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    const anonymous = await fetch(`${url}/api/rollbacks`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-ferry-csrf': '1', origin: url }, body: '{"env":"production"}' });
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    expect((await fetch(`${url}/api/events`)).status).toBe(401);
  });

  it('refuses a cross-site request made with the signed-in cookie, from another site in the same browser and by hand', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const evilPort = await freePort();
    // Another origin (another port) whose page posts a form to the agent, as a CSRF attack would.
    const evil = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<form id="f" method="POST" action="${url}/api/rollbacks" enctype="text/plain"><input name='{"env":"production","x":"' value='"}'></form><script>document.getElementById('f').submit()</script>`);
    });
    await new Promise<void>((resolve) => evil.listen(evilPort, '127.0.0.1', resolve));
    try {
      await signIn(page, tokens.admin);
      const before = (await (await fetch(`${url}/api/deployments?env=production`, { headers: { authorization: `Bearer ${tokens.admin}` } }).then((r) => r.json())) as { deployments: unknown[] }).deployments.length;
      const posted = page.waitForResponse((response) => response.url().endsWith('/api/rollbacks'));
      await page.goto(`http://127.0.0.1:${evilPort}/`);
      const response = await posted;
      // SameSite=Strict keeps the cookie off a cross-site POST, and the agent would refuse it anyway (below).
      expect([401, 403]).toContain(response.status());
      const cookie = (await context.cookies(url)).find((each) => each.name === 'ferry_session')!;
      const byHand = await fetch(`${url}/api/rollbacks`, { method: 'POST', headers: { cookie: `ferry_session=${cookie.value}`, 'content-type': 'application/json', 'x-ferry-csrf': '1', origin: `http://127.0.0.1:${evilPort}` }, body: '{"env":"production"}' });
      expect(byHand.status).toBe(403);
      expect(((await byHand.json()) as { error: { message: string } }).error.message).toMatch(/cross-site request was refused/);
      const noHeader = await fetch(`${url}/api/rollbacks`, { method: 'POST', headers: { cookie: `ferry_session=${cookie.value}`, 'content-type': 'application/json', origin: url }, body: '{"env":"production"}' });
      expect(noHeader.status).toBe(403);
      const after = (await (await fetch(`${url}/api/deployments?env=production`, { headers: { authorization: `Bearer ${tokens.admin}` } }).then((r) => r.json())) as { deployments: unknown[] }).deployments.length;
      expect(after).toBe(before);
      // Rotating the admin token ends the sessions signed in with it.
      const rotated = await project.ferry(['token', '--rotate', '--json']);
      expect(rotated.code, rotated.stderr).toBe(0);
      const { token: fresh } = JSON.parse(rotated.stdout) as { token: string };
      expect(fresh).not.toBe(tokens.admin);
      expect((await fetch(`${url}/api/session`, { headers: { cookie: `ferry_session=${cookie.value}` } })).status).toBe(401);
      expect((await fetch(`${url}/api/status`, { headers: { authorization: `Bearer ${fresh}` } })).status).toBe(200);
      expect(readAgentInfo(project).token).toBe(fresh);
      tokens.admin = fresh;
    } finally {
      evil.close();
      await context.close();
    }
  });
});
