import { setTimeout as delay } from 'node:timers/promises';
import type { AnalysisCheck } from '../../config/schema.js';
import { describeProbe } from '../../health/probe.js';
import { describeMeasurement, judge, judgeRouterMetric, sinceBaseline, type Measurement } from '../../metrics/analysis.js';
import type { RequestSeries } from '../../router/request-metrics.js';
import { errorMessage } from '../../util/errors.js';
import { ms } from '../instances.js';
import { probeThroughRouter } from '../routing.js';
import { StepFailure, type Step } from '../step.js';

/** A PromQL instant query's first sample, or why there is none. */
async function promql(base: string, query: string, timeoutMs: number): Promise<{ value?: number; why: string }> {
  try {
    const response = await fetch(`${base.replace(/\/$/, '')}/api/v1/query?query=${encodeURIComponent(query)}`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await response.json()) as { status: string; error?: string; data?: { result: Array<{ value: [number, string] }> } };
    if (body.status !== 'success') return { why: `Prometheus refused the query: ${body.error}` };
    const sample = body.data?.result[0]?.value[1];
    return sample === undefined ? { why: 'the query returned no series' } : { value: Number(sample), why: 'NaN' };
  } catch (error) {
    return { why: `Prometheus at ${base} did not answer: ${errorMessage(error)}` };
  }
}

/**
 * The metrics gate, in the watch window after the switch: the health path through the router as `watch` does,
 * and every `analysis.interval` each check on the new release (the router's counters since the switch, or a
 * PromQL query). A failing check fails the step at once, and the switch is undone. When the window ends, a check
 * still without data follows its `no_data` policy. Every measurement is stored as an event of the deployment.
 */
export const analysis: Step = {
  name: 'analysis',
  async run(ctx) {
    const settings = ctx.config.analysis!;
    const env = ctx.request.env;
    const release = ctx.release!.id;
    const fill = (text: string) => text.replaceAll('{{environment}}', env).replaceAll('{{release}}', release);
    const seriesOf = (all: RequestSeries[]) => all.find((s) => s.env === env && s.release === release);
    const baseline = seriesOf((await ctx.deps.router.requests()).series);
    const measure = async (check: AnalysisCheck, series: RequestSeries | undefined): Promise<Measurement> => {
      if (check.metric) return judgeRouterMetric(check, series);
      const [value, samples] = await Promise.all([promql(settings.prometheus!, fill(check.query!), 5000), check.samples_query ? promql(settings.prometheus!, fill(check.samples_query), 5000) : undefined]);
      return judge(check, value.value, samples?.value ?? (samples ? 0 : undefined), value.why);
    };
    const started = Date.now();
    const windowEnd = started + ms(ctx.config.watch);
    const waitEnd = windowEnd + ms(settings.max_wait);
    const health = ctx.config.health;
    let unhealthy = 0;
    let rounds = 0;
    let last: Measurement[] = [];
    for (;;) {
      await delay(ms(settings.interval));
      const probe = await probeThroughRouter(ctx);
      unhealthy = probe.ok ? 0 : unhealthy + 1;
      if (!probe.ok) ctx.progress(`through the router ${describeProbe(probe)}`);
      if (unhealthy >= health.unhealthy_threshold) {
        ctx.watchFailedAt = Date.now();
        throw new StepFailure(`${release} turned unhealthy after the switch: ${describeProbe(probe)}`, ctx.newSpecs[0]?.id, [probe]);
      }
      const series = sinceBaseline(seriesOf((await ctx.deps.router.requests()).series), baseline);
      last = await Promise.all(settings.checks.map((check) => measure(check, series)));
      ctx.analysis = last;
      rounds++;
      ctx.deps.store.recordEvent(env, ctx.deploymentId, 'analysis', { round: rounds, atMs: Date.now() - started, measurements: last });
      ctx.progress(last.map(describeMeasurement).join('; '));
      const failed = last.filter((m) => m.verdict === 'fail');
      if (failed.length) {
        ctx.watchFailedAt = Date.now();
        throw new StepFailure(`the metrics gate failed ${release}: ${failed.map(describeMeasurement).join('; ')}`, ctx.newSpecs[0]?.id);
      }
      if (Date.now() < windowEnd) continue;
      const policy = (m: Measurement) => settings.checks.find((c) => c.name === m.check)!.no_data;
      const waiting = last.filter((m) => m.verdict === 'no data' && policy(m) === 'wait');
      if (waiting.length && Date.now() < waitEnd) continue;
      const refused = last.filter((m) => m.verdict === 'no data' && policy(m) !== 'pass');
      if (refused.length) {
        ctx.watchFailedAt = Date.now();
        const why = refused.map((m) => `${describeMeasurement(m)}, no_data: ${policy(m)}${policy(m) === 'wait' ? ` (waited ${settings.max_wait} more)` : ''}`).join('; ');
        throw new StepFailure(`the metrics gate has no data to pass ${release}: ${why}`, ctx.newSpecs[0]?.id);
      }
      return `${rounds} rounds over ${((Date.now() - started) / 1000).toFixed(1)}s: ${last.map((m) => (m.verdict === 'no data' ? `${describeMeasurement(m)}, no_data: pass` : describeMeasurement(m))).join('; ')}`;
    }
  },
};
