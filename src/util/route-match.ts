/** What a route table's entries have in common: a method and a literal path or an anchored pattern whose named groups become params. */
export interface RoutePattern {
  method: string;
  path: string | RegExp;
}

/** The route for a method and path; or, when the path is known but not for that method, the methods it takes. */
export function matchRoute<R extends RoutePattern>(routes: readonly R[], method: string, pathname: string): { route: R; params: Record<string, string> } | { allowed: string[] } | undefined {
  const allowed: string[] = [];
  for (const candidate of routes) {
    let params: Record<string, string> | undefined;
    if (typeof candidate.path === 'string') params = candidate.path === pathname ? {} : undefined;
    else {
      const match = candidate.path.exec(pathname);
      params = match ? { ...match.groups } : undefined;
    }
    if (!params) continue;
    if (candidate.method === method) return { route: candidate, params };
    allowed.push(candidate.method);
  }
  return allowed.length ? { allowed } : undefined;
}
