// Line charts drawn by uPlot (served from node_modules, loaded before this script). A null is no data: drawn
// as a gap, never joined across and never as 0, and said as "no data" in the chart's text alternative.
import { el } from './dom.js';

interface UPlot { destroy(): void }
declare const uPlot: new (options: object, data: Array<Array<number | null>>, target: HTMLElement) => UPlot;

/** Series colours: each at least 3:1 against the white background (WCAG's contrast for graphics). */
const COLOURS = ['#0a5dc2', '#b3261e', '#1b7f3b', '#8a4b00', '#6b3fa0', '#00707a'];

export interface Line {
  label: string;
  values: Array<number | null>;
}

/** The charts of one view: drawn into figures, destroyed together when the view draws again. */
export class Charts {
  private readonly drawn: UPlot[] = [];

  clear(): void {
    for (const chart of this.drawn.splice(0)) chart.destroy();
  }

  /**
   * A chart of one or more lines over `times` (seconds), captioned `title`; `describe` is its text
   * alternative (the canvas says nothing to a screen reader). More than one line gets a legend.
   */
  draw(target: HTMLElement, options: { title: string; times: number[]; lines: Line[]; format: (v: number) => string; describe: string; floor?: number }): void {
    const box = el('figure', null, 'chart');
    box.append(el('figcaption', options.title));
    const plot = el('div');
    plot.setAttribute('role', 'img');
    plot.setAttribute('aria-label', `${options.title}: ${options.describe}`);
    box.append(plot);
    if (options.lines.length > 1) {
      const legend = el('ul', null, 'legend');
      options.lines.forEach((line, i) => {
        const item = el('li', line.label);
        item.style.setProperty('--swatch', COLOURS[i % COLOURS.length]);
        legend.append(item);
      });
      box.append(legend);
    }
    target.append(box);
    if (typeof uPlot !== 'function') return void plot.append(el('p', 'the chart library did not load', 'bad'));
    this.drawn.push(
      new uPlot(
        {
          width: Math.max(240, box.clientWidth),
          height: 160,
          legend: { show: false },
          cursor: { show: false },
          // From 0 (a chart that starts elsewhere exaggerates), up to the data or, when it is flat, `floor`.
          scales: { x: { time: true }, y: { range: (_self: unknown, _min: number | null, max: number | null) => [0, Math.max((max ?? 0) * 1.1, options.floor ?? 1e-9)] } },
          axes: [{}, { size: 90, values: (_self: unknown, ticks: number[]) => ticks.map((t) => options.format(t)) }],
          series: [{}, ...options.lines.map((line, i) => ({ label: line.label, stroke: COLOURS[i % COLOURS.length], width: 2, spanGaps: false, points: { show: true, size: 5 } }))],
        },
        [options.times, ...options.lines.map((line) => line.values)],
        plot,
      ),
    );
  }
}
