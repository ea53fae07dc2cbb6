import type { EnvironmentStatus } from './status.js';

const escape = (text: unknown) => String(text ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A plain status page; it refreshes itself and reads the same data as `ferry status --json`. */
export function renderStatusPage(app: string, statuses: EnvironmentStatus[]): string {
  const sections = statuses
    .map((s) => {
      const rows = s.instances
        .map((i) => `<tr><td>${escape(i.id)}</td><td>${escape(i.release)}</td><td>:${i.port}</td><td>${escape(i.state)}</td><td>${i.healthy ? 'healthy' : `unhealthy (${escape(i.health)})`}</td></tr>`)
        .join('');
      const last = s.lastDeployment;
      return `<section><h2>${escape(s.env)} <a href="${escape(s.url)}">${escape(s.url)}</a></h2>
<p>serving: <b>${s.serving ? `${escape(s.serving.id)} (${escape(s.serving.commit.slice(0, 12))}, ${escape(s.serving.ref)})` : 'nothing'}</b> · strategy ${escape(s.strategy)}</p>
<table><tr><th>instance</th><th>release</th><th>port</th><th>state</th><th>health</th></tr>${rows}</table>
<p>last deployment: ${last ? `#${last.id} ${escape(last.kind)} ${escape(last.release ?? '')} <b>${escape(last.state)}</b> ${escape(last.startedAt)}${last.error ? ` · ${escape(last.error)}` : ''}` : 'none'}</p></section>`;
    })
    .join('\n');
  return `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="5"><title>ferry · ${escape(app)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse}td,th{padding:.2em .8em;border-bottom:1px solid #ddd;text-align:left}</style></head>
<body><h1>ferry · ${escape(app)}</h1>${sections}<p>API: <code>/api/status</code>, <code>/api/deployments</code> (bearer token in agent.json in the state folder, which <code>ferry status</code> names)</p></body></html>`;
}
