import { describe, expect, it } from 'vitest';
import { execStartOf, renderUnits, type UnitFacts } from './units.js';

const facts: UnitFacts = { app: 'shop', scope: 'system', user: 'deploy', projectDir: '/srv/my shop', stateDir: '/var/lib/ferry/100% shop', node: '/opt/node 20/bin/node', ferryBin: '/opt/ferry/bin/ferry.js', routerEntry: '/opt/ferry/dist/router/main.js', workers: 2, docker: true, version: '0.1.0' };

describe('renderUnits', () => {
  it('quotes paths with spaces, and escapes systemd specifiers (%) and variables ($), so ExecStart runs exactly the words meant', () => {
    const [router, agent] = renderUnits({ ...facts, projectDir: '/srv/$HOME shop' });
    expect(execStartOf(router.text)).toEqual(['/opt/node 20/bin/node', '--max-semi-space-size=64', '/opt/ferry/dist/router/main.js', '/var/lib/ferry/100% shop', '--workers', '2']);
    expect(execStartOf(agent.text)).toEqual(['/opt/node 20/bin/node', '/opt/ferry/bin/ferry.js', 'agent', '--project', '/srv/$HOME shop']);
    expect(router.text).toContain('Environment="FERRY_STATE_DIR=/var/lib/ferry/100%% shop"');
    expect(router.text).toContain('"/var/lib/ferry/100%% shop"');
  });

  it('system units run as the user and start after Docker when an environment runs on it; user units start with the user', () => {
    const [router, agent] = renderUnits(facts);
    expect(router.name).toBe('ferry-shop-router.service');
    expect(router.text).toMatch(/^User=deploy$/m);
    expect(router.text).toMatch(/^After=network-online.target docker.service$/m);
    expect(router.text).toMatch(/^WantedBy=multi-user.target$/m);
    expect(agent.text).toMatch(/^Wants=network-online.target ferry-shop-router.service$/m);
    const [userRouter] = renderUnits({ ...facts, scope: 'user', docker: false });
    expect(userRouter.text).not.toMatch(/^User=/m);
    expect(userRouter.text).toMatch(/^After=network-online.target$/m);
    expect(userRouter.text).toMatch(/^WantedBy=default.target$/m);
  });
});
