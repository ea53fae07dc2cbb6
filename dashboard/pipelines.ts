// Pipeline runs (`ferry ci`) with their stages, durations, results and logs; then security: each scan
// tool's latest report, findings by severity with their fix, and a tool that did not scan shown as such.
import { $, ago, duration, el, getJson, stateText, table } from './dom.js';

interface Stage { name: string; state: string; cached: boolean; durationMs: number | null; detail: string | null; hasLog: boolean }
interface Run { id: number; commit: string | null; branch: string | null; outcome: string; wallMs: number | null; startedAt: number; stages: Stage[] }
interface Finding { ruleId: string; severity: string; message: string; package: string; version?: string; title: string; fix: string; url: string | null }
interface Tool { tool: string; scanned: boolean; reason: string | null; at: number | null; commit: string | null; counts: Record<string, number>; findings: Finding[] }

const SEVERITIES = ['critical', 'high', 'moderate', 'low', 'info'];
/** `unchecked` ran and checked nothing; `skipped` did not run: neither is green. */
const goodness = (state: string): boolean | null => (state === 'succeeded' || state === 'cached' ? true : state === 'failed' || state === 'cancelled' ? false : null);

function renderStage(run: Run, stage: Stage): HTMLElement {
  const item = el('li');
  item.dataset.stage = stage.name;
  item.dataset.state = stage.state;
  item.append(el('span', stage.name), ' ', stateText(`${stage.state}${stage.cached ? ' (cached)' : ''} ${stage.durationMs === null ? '' : duration(stage.durationMs)}`, goodness(stage.state)));
  if (stage.detail) item.append(el('span', ` · ${stage.detail}`, 'detail'));
  if (stage.hasLog) {
    const details = el('details');
    const summary = el('summary', 'log');
    details.append(summary);
    details.addEventListener('toggle', async () => {
      if (!details.open || details.querySelector('pre')) return;
      try {
        const log = await getJson<{ lines: string[]; omitted: number }>(`/api/pipelines/${run.id}/stages/${encodeURIComponent(stage.name)}/log`);
        details.append(el('pre', `${log.omitted ? `(${log.omitted} earlier lines)\n` : ''}${log.lines.join('\n')}`, 'logs'));
      } catch (error) {
        details.append(el('p', (error as Error).message, 'bad'));
      }
    });
    item.append(details);
  }
  return item;
}

function renderRun(run: Run): HTMLElement {
  const item = el('li', null, 'event');
  item.dataset.run = String(run.id);
  item.dataset.outcome = run.outcome;
  const title = el('h3');
  title.append(`pipeline run #${run.id} `, stateText(run.outcome, goodness(run.outcome)));
  item.append(title);
  item.append(el('p', `${ago(run.startedAt)} · ${run.wallMs === null ? 'running' : duration(run.wallMs)}${run.commit ? ` · commit ${run.commit.slice(0, 12)}` : ''}${run.branch ? ` on ${run.branch}` : ''}`, 'facts'));
  const stages = el('ol', null, 'steps');
  for (const stage of run.stages) stages.append(renderStage(run, stage));
  item.append(stages);
  return item;
}

function renderTool(tool: Tool): HTMLElement {
  const card = el('article', null, 'card');
  card.dataset.tool = tool.tool;
  card.dataset.scanned = String(tool.scanned);
  const title = el('h3');
  title.id = `tool-${tool.tool}`;
  card.setAttribute('aria-labelledby', title.id);
  const total = tool.findings.length;
  title.append(`${tool.tool} `, tool.scanned ? stateText(total === 0 ? 'no findings' : `${total} finding${total === 1 ? '' : 's'}`, total === 0) : stateText('not scanned', null));
  card.append(title);
  if (!tool.scanned) card.append(el('p', tool.reason ?? 'it could not scan', 'nodata'));
  if (tool.at) card.append(el('p', `${ago(tool.at)}${tool.commit ? ` · commit ${tool.commit.slice(0, 12)}` : ''}`, 'facts'));
  if (tool.scanned && total > 0) {
    card.append(el('p', SEVERITIES.filter((s) => tool.counts[s]).map((s) => `${tool.counts[s]} ${s}`).join(' · ')));
    card.append(
      table(
        ['severity', 'package', 'finding', 'fix'],
        tool.findings.map((f) => {
          const what = el('span', `${f.title}: ${f.message}`);
          const fix = el('span', f.fix || 'no fix published');
          if (f.url) {
            const link = el('a', ' advisory');
            link.href = f.url;
            link.rel = 'noreferrer';
            fix.append(link);
          }
          return [stateText(f.severity, f.severity === 'info' || f.severity === 'low' ? null : false), `${f.package}${f.version ? `@${f.version}` : ''}`, what, fix];
        }),
        `${tool.tool} findings`,
      ),
    );
  }
  return card;
}

export async function renderPipelines(): Promise<void> {
  const runsTarget = $('pipeline-list');
  const toolsTarget = $('security-list');
  try {
    const [{ runs }, { tools }] = await Promise.all([getJson<{ runs: Run[] }>('/api/pipelines?limit=20'), getJson<{ tools: Tool[] }>('/api/security')]);
    if (runs.length === 0) runsTarget.replaceChildren(el('p', 'no pipeline run yet: `ferry ci` runs one', 'nodata'));
    else {
      const list = el('ol', null, 'timeline');
      for (const run of runs) list.append(renderRun(run));
      runsTarget.replaceChildren(list);
    }
    const cards = el('div', null, 'cards');
    for (const tool of tools) cards.append(renderTool(tool));
    toolsTarget.replaceChildren(cards);
  } catch (error) {
    runsTarget.replaceChildren(el('p', `the pipeline runs could not be read: ${(error as Error).message}`, 'bad'));
  }
}
