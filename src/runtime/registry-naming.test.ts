import { describe, expect, it } from 'vitest';
import { imageRef, registryAuth } from './docker/image-push.js';
import { nodeAddress } from './swarm/swarm-runtime.js';

describe('images in a registry, tasks on nodes', () => {
  it('names release images locally or in the registry', () => {
    expect(imageRef('shop', 'r7')).toBe('shop:r7');
    expect(imageRef('shop', 'r7', { server: 'registry.example.com:5000/team' })).toBe('registry.example.com:5000/team/shop:r7');
  });

  it('takes the registry password from the deploying shell, and says which variable is missing', () => {
    const registry = { server: 'registry.example.com/team', username: 'ci', password_env: 'REGISTRY_TOKEN' };
    expect(registryAuth(registry, { REGISTRY_TOKEN: 's3cret' })).toEqual({ username: 'ci', password: 's3cret', serveraddress: 'registry.example.com' });
    expect(() => registryAuth(registry, {})).toThrow(/registry.example.com\/team needs a password for ci, and REGISTRY_TOKEN is not set in the deploying shell/);
    expect(registryAuth({ server: '127.0.0.1:5000' }, {})).toBeUndefined();
  });

  it("reaches a task at its node's address, a manager's from its manager status when it reports 0.0.0.0", () => {
    expect(nodeAddress({ Status: { Addr: '10.0.0.7' } })).toBe('10.0.0.7');
    expect(nodeAddress({ Status: { Addr: '0.0.0.0' }, ManagerStatus: { Addr: '10.0.0.2:2377' } })).toBe('10.0.0.2');
  });
});
