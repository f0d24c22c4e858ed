/**
 * V8 CPU profiles (the inspector's `Profiler.stop`) summarised by self time: per area (the
 * caller's classification of a frame's file) and per function. Shared by the push and pull
 * profilers.
 */
export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
export interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time in µs, summed over `profiles`, per area and per function (name, file, line). */
export function selfTimes(profiles: readonly Profile[], area: (url: string, functionName: string) => string): { areas: Map<string, number>; functions: Map<string, number> } {
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const profile of profiles) {
    const byId = new Map(profile.nodes.map((node) => [node.id, node]));
    profile.samples.forEach((id, i) => {
      const us = profile.timeDeltas[i] ?? 0;
      const f = (byId.get(id) as ProfileNode).callFrame;
      const a = area(f.url, f.functionName);
      areas.set(a, (areas.get(a) ?? 0) + us);
      const name = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(lambdas|bench|local)\//, '$1/')}:${f.lineNumber + 1}`;
      functions.set(name, (functions.get(name) ?? 0) + us);
    });
  }
  return { areas, functions };
}

/** Areas by self time, the idle and program pseudo-frames left out. */
export const busyAreas = (areas: Map<string, number>) => [...areas].filter(([a]) => a !== 'idle/program').sort((x, y) => y[1] - x[1]);
/** The `limit` hottest functions by self time, the idle and program pseudo-frames left out. */
export const hottestFunctions = (functions: Map<string, number>, limit: number) =>
  [...functions].filter(([x]) => !x.startsWith('(idle)') && !x.startsWith('(program)')).sort((x, y) => y[1] - x[1]).slice(0, limit);
