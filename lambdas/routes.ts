/**
 * The HTTP routes of contract v1 and the handler module serving each. The local stack routes
 * with this table; the CDK Api construct creates one integration per entry.
 */
export interface RouteDef {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  /** Module under lambdas/handlers/ exporting `handler`. */
  readonly handler: string;
}

export const API_ROUTES: readonly RouteDef[] = [
  { method: 'GET', path: '/api/v1/sync', handler: 'sync-pull' },
  { method: 'POST', path: '/api/v1/sync', handler: 'sync-push' },
];
