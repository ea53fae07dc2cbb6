import type { AnalysisCheck } from '../config/schema.js';
import type { RequestSeries } from '../router/request-metrics.js';
import { histogramQuantile } from './red.js';

/** One check measured once: the value, the sample it rests on, the threshold and the verdict. */
export interface Measurement {
  check: string;
  value: number | null;
  samples: number | null;
  threshold: string;
  verdict: 'pass' | 'fail' | 'no data';
  why?: string;
}

/** Four significant digits: what a person reads (the stored measurement keeps the full value). */
const short = (value: number) => Number(value.toPrecision(4));

export const thresholdOf = (check: AnalysisCheck) => [check.max !== undefined ? `≤ ${check.max}` : '', check.min !== undefined ? `≥ ${check.min}` : ''].filter(Boolean).join(' and ');

/** Pure: the verdict on one measured value. Too few samples is no data yet, never a pass. */
export function judge(check: AnalysisCheck, value: number | undefined, samples: number | undefined, noDataWhy = 'no value'): Measurement {
  const base = { check: check.name, value: value ?? null, samples: samples ?? null, threshold: thresholdOf(check) };
  if (value === undefined || Number.isNaN(value)) return { ...base, value: null, verdict: 'no data', why: noDataWhy };
  if (samples !== undefined && samples < check.min_samples) return { ...base, verdict: 'no data', why: `${Math.round(samples)} of the ${check.min_samples} samples it needs` };
  if (check.max !== undefined && value > check.max) return { ...base, verdict: 'fail', why: `${short(value)} > ${check.max}` };
  if (check.min !== undefined && value < check.min) return { ...base, verdict: 'fail', why: `${short(value)} < ${check.min}` };
  return { ...base, verdict: 'pass' };
}

/** The release's requests since `baseline` (the switch): the counters' difference. */
export function sinceBaseline(now: RequestSeries | undefined, baseline: RequestSeries | undefined): RequestSeries | undefined {
  if (!now) return undefined;
  if (!baseline) return now;
  return {
    ...now,
    codes: { '1xx': now.codes['1xx'] - baseline.codes['1xx'], '2xx': now.codes['2xx'] - baseline.codes['2xx'], '3xx': now.codes['3xx'] - baseline.codes['3xx'], '4xx': now.codes['4xx'] - baseline.codes['4xx'], '5xx': now.codes['5xx'] - baseline.codes['5xx'] },
    buckets: now.buckets.map((n, i) => n - baseline.buckets[i]),
    overflow: now.overflow - baseline.overflow,
    sumSeconds: now.sumSeconds - baseline.sumSeconds,
    count: now.count - baseline.count,
  };
}

/** A router-counter check on the release's requests since the switch. */
export function judgeRouterMetric(check: AnalysisCheck, series: RequestSeries | undefined): Measurement {
  const count = series?.count ?? 0;
  if (!series || count === 0) return judge(check, undefined, 0, 'no request has reached the new release through the router yet');
  const quantile = (q: number) => {
    const measured = histogramQuantile(q, series.buckets, series.overflow);
    return 'value' in measured ? measured.value : undefined;
  };
  const value = {
    error_ratio: series.codes['5xx'] / count,
    p50_seconds: quantile(0.5),
    p95_seconds: quantile(0.95),
    p99_seconds: quantile(0.99),
    requests: count,
  }[check.metric!];
  return judge(check, value, check.metric === 'requests' ? undefined : count, 'the latency is above the histogram’s last bucket (10 s)');
}

export const describeMeasurement = (m: Measurement) =>
  `${m.check}: ${m.value === null ? 'no data' : short(m.value)}${m.samples !== null ? ` over ${Math.round(m.samples)}` : ''} (${m.threshold}) → ${m.verdict}${m.why && m.verdict !== 'pass' ? ` (${m.why})` : ''}`;
