// What an orphan purge reports (src/ctmap/orphans.ts NatGCStats): its JSON and its printed form.
import t from 'tap';
import { inspect } from 'node:util';
import { NatGCStats } from '../../src/ctmap/index.js';
import { NewDumpStats } from '../../src/syscall/index.js';

t.test('NatGCStats: JSON with every counter, the printed form with the cluster and error only when there are some', async (t) => {
  const d = NewDumpStats({ maxEntries: 1024 });
  const s = new NatGCStats('ipv4', 0, d);
  t.equal(s.dumpStats, d);
  Object.assign(s, { ingressAlive: 1, ingressDeleted: 2, egressAlive: 3, egressDeleted: 4, ctLookups: 5, snapshot: true });
  t.same(s.toJSON(), { family: 'ipv4', clusterID: 0, ingressAlive: 1, ingressDeleted: 2, egressAlive: 3, egressDeleted: 4, completed: false,
    error: null, ctLookups: 5, snapshot: true });
  t.equal(inspect(s), 'NatGCStats(ipv4 ingress alive=1 deleted=2 egress alive=3 deleted=4)');
  d.completed = true;
  const c = new NatGCStats('ipv6', 7, d);
  c.error = new Error('walk "stopped"');
  t.same(c.toJSON(), { family: 'ipv6', clusterID: 7, ingressAlive: 0, ingressDeleted: 0, egressAlive: 0, egressDeleted: 0, completed: true,
    error: 'walk "stopped"', ctLookups: 0, snapshot: false });
  t.equal(inspect(c), 'NatGCStats(ipv6 cluster=7 ingress alive=0 deleted=0 egress alive=0 deleted=0 error="walk \\"stopped\\"")');
});
