// Small DOM helpers: everything from the API goes in through textContent, never as markup.

export const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string | null, className?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  if (className) node.className = className;
  return node;
}

/** Requests that change something carry the header a cross-site page cannot send (the agent checks it, and the Origin). */
export async function api(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.method && init.method !== 'GET') headers.set('x-ferry-csrf', '1');
  if (init.body) headers.set('content-type', 'application/json');
  return fetch(path, { ...init, headers, credentials: 'same-origin' });
}

export async function getJson<T>(path: string): Promise<T> {
  const response = await api(path);
  const body = (await response.json()) as T & { error?: { message: string } };
  if (!response.ok) throw new Error(body.error?.message ?? `${path} answered ${response.status}`);
  return body;
}

export function ago(at: string | number): string {
  const seconds = Math.max(0, (Date.now() - (typeof at === 'number' ? at : Date.parse(at))) / 1000);
  if (seconds < 90) return `${Math.round(seconds)} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} days ago`;
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '…';
  return ms < 1000 ? `${ms} ms` : ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60_000)} min`;
}

export function definitionList(rows: Array<[string, Node | string]>): HTMLDListElement {
  const list = el('dl');
  for (const [term, value] of rows) {
    list.append(el('dt', term));
    const dd = el('dd');
    dd.append(value);
    list.append(dd);
  }
  return list;
}

/** A state word coloured by whether it is good; `null`: neither (no data, pending). */
export function stateText(text: string, good: boolean | null): HTMLSpanElement {
  return el('span', text, good === null ? 'nodata' : good ? 'ok' : 'bad');
}

export function table(headers: string[], rows: Array<Array<Node | string>>, label: string): HTMLElement {
  // A table wider than a phone scrolls in its own box; keyboard users reach it too (focusable and named).
  const wrap = el('div', null, 'table-wrap');
  wrap.tabIndex = 0;
  wrap.setAttribute('role', 'region');
  wrap.setAttribute('aria-label', label);
  const node = el('table');
  const head = el('tr');
  for (const title of headers) {
    const th = el('th', title);
    th.scope = 'col';
    head.append(th);
  }
  node.createTHead().append(head);
  const body = node.createTBody();
  for (const cells of rows) {
    const row = el('tr');
    for (const cell of cells) {
      const td = el('td');
      td.append(cell);
      row.append(td);
    }
    body.append(row);
  }
  wrap.append(node);
  return wrap;
}
