// The public contract of ../shared/spec/api.md: every name it lists is exported from the package root.
import t from 'tap';

t.test('the package root exports every name of the contract', async (t) => {
  const root = await import('../../src/index.js') as Record<string, unknown>;
  const names = [
    'CtKey4Global', 'CtKey6Global', 'TupleKey4Global', 'TupleKey6Global', 'NatKey4', 'NatKey6', 'CtEntry', 'NatEntry4', 'NatEntry6',
    'MapNameTCP4Global', 'MapNameTCP6Global', 'MapNameAny4Global', 'MapNameAny6Global', 'MapNamePrefix', 'TUPLE_F_OUT', 'TUPLE_F_IN',
    'TUPLE_F_RELATED', 'TUPLE_F_SERVICE', 'MaxTime', 'RxClosing', 'TxClosing', 'Nat64', 'LBLoopback', 'SeenNonSyn', 'NodePort',
    'ProxyRedirect', 'DSRInternal', 'FromL7LB', 'Reserved1', 'FromTunnel', 'MaxFlags', 'SizeofCtEntry', 'SizeofCtKey4Global',
    'SizeofCtKey6Global', 'Maps', 'OpenCTMap', 'DumpEntriesWithTimeDiff', 'InitMapInfo', 'NatMapNext4', 'NatMapNext6',
    'PurgeOrphanNATEntries', 'NewPerClusterCTMaps', 'CleanupPerClusterCTMaps', 'ClusterOuterMapName', 'ClusterInnerMapName',
    'ClusterOuterMapNameTestOverride', 'GetClusterCTMaps', 'NewFakeGCRunner', 'setMapRoot',
  ];
  const missing = names.filter((n) => root[n] === undefined);
  t.same(missing, [], `${names.length} names exported`);
  const k = new (root.CtKey4Global as typeof import('../../src/index.js').CtKey4Global)({ destAddr: '10.0.0.1', nextHeader: 6, flags: 1 });
  t.equal(k.getFlags(), 1);
  t.equal(k.toBytes().length, 14);
  t.equal(typeof k.getTupleKey().toString(), 'string');
});
