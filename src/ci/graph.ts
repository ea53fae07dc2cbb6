import type { PlannedStage } from './stages.js';

/** Refuses needs that name no stage, and cycles; returns the stages in a dependency order. Pure. */
export function orderStages(stages: PlannedStage[]): PlannedStage[] {
  const byName = new Map(stages.map((s) => [s.name, s]));
  for (const s of stages) {
    for (const need of s.needs) if (!byName.has(need)) throw new Error(`stage ${s.name} needs "${need}", which is not a stage (stages: ${[...byName.keys()].join(', ')})`);
  }
  const ordered: PlannedStage[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (s: PlannedStage, path: string[]) => {
    if (state.get(s.name) === 'done') return;
    if (state.get(s.name) === 'visiting') throw new Error(`stages depend on each other in a cycle: ${[...path, s.name].join(' → ')}`);
    state.set(s.name, 'visiting');
    for (const need of s.needs) visit(byName.get(need)!, [...path, s.name]);
    state.set(s.name, 'done');
    ordered.push(s);
  };
  for (const s of stages) visit(s, []);
  return ordered;
}

/** The named stages and everything they need, in order. */
export function selectStages(ordered: PlannedStage[], names: string[]): PlannedStage[] {
  if (names.length === 0) return ordered;
  const byName = new Map(ordered.map((s) => [s.name, s]));
  const wanted = new Set<string>();
  const add = (name: string) => {
    const s = byName.get(name);
    if (!s) throw new Error(`no stage "${name}" (stages: ${[...byName.keys()].join(', ')})`);
    if (wanted.has(name)) return;
    wanted.add(name);
    s.needs.forEach(add);
  };
  names.forEach(add);
  return ordered.filter((s) => wanted.has(s.name));
}

/**
 * How long the pipeline still runs from each stage's start, at least: its expected duration plus the longest
 * chain of stages that need it. Starting the highest first (critical path first) keeps a long chain from
 * waiting behind short stages when there are fewer slots than ready stages. Unknown durations count as 0. Pure.
 */
export function criticalPath(ordered: PlannedStage[], expectedMs: Map<string, number>): Map<string, number> {
  const path = new Map<string, number>();
  for (const stage of [...ordered].reverse()) {
    const after = ordered.filter((s) => s.needs.includes(stage.name)).map((s) => path.get(s.name) ?? 0);
    path.set(stage.name, (stage.skip ? 0 : expectedMs.get(stage.name) ?? 0) + Math.max(0, ...after));
  }
  return path;
}

/** The stages with the longest remaining path first; ties keep their dependency order (the sort is stable). */
export function byCriticalPath(ordered: PlannedStage[], expectedMs: Map<string, number>): PlannedStage[] {
  const path = criticalPath(ordered, expectedMs);
  return [...ordered].sort((a, b) => path.get(b.name)! - path.get(a.name)!);
}
