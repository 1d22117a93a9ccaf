/**
 * `ctmap ct get <flow>`: one lookup of the exact key that prints as the flow
 * (flow.ts printedKey: for the datapath's entries, the key CtKey.fromFlow
 * derives — reply-order addresses, ports in network order, the direction
 * flags), then the NAT entries that CT entry owns (its SNAT and RevSNAT pair,
 * or the DSR entry), looked up, not changed. Without a direction the three
 * keys a flow can have (OUT, IN, SVC) are each looked up.
 */
import type { CtKey } from '../structs/tuple.js';
import { CtMapRecord, NatMapRecord } from '../structs/records.js';
import { marshalIndent, type JsonObject } from '../structs/json.js';
import type { CtEntry } from '../structs/ctentry.js';
import { ctEntryText, type ConntrackMap } from '../ctmap/ctmap.js';
import { natCreatedFormatter, natLine } from '../nat/natmap.js';
import type { NatPairEntry } from '../nat/mapping.js';
import { CliError, cliNode, openSelection, type GlobalOptions } from './context.js';
import { clusterOf } from './ct.js';
import { flowText, parseFlow, printedKeys, type CliFlow, type FlowDir } from './flow.js';
import { parseOutput, writeValue } from './format.js';
import { SyncWriter } from './output.js';

export interface GetOptions {
  readonly cluster?: string;
  readonly output?: string;
}

interface Hit {
  readonly map: ConntrackMap;
  readonly key: CtKey;
  readonly entry: CtEntry;
  readonly nat: readonly NatPairEntry[];
}

class GetResult {
  constructor(readonly hits: readonly Hit[], readonly natMap: string | undefined) {}

  toGoJSON(): JsonObject {
    return {
      entries: this.hits.map((h) => ({
        map: h.map.name,
        record: new CtMapRecord(h.key, h.entry).toGoJSON(),
        nat: h.nat.map((n) => ({ role: n.role, map: this.natMap ?? '', record: new NatMapRecord(n.key, n.entry).toGoJSON() })),
      })),
    };
  }

  toGoYAML(): JsonObject {
    return {
      entries: this.hits.map((h) => ({
        map: h.map.name,
        record: new CtMapRecord(h.key, h.entry).toGoYAML(),
        nat: h.nat.map((n) => ({ role: n.role, map: this.natMap ?? '', record: new NatMapRecord(n.key, n.entry).toGoYAML() })),
      })),
    };
  }
}

/** The CT map of the selection that holds the flow's entries: TCP or Any, of the flow's family. */
function mapFor(maps: readonly ConntrackMap[], flow: CliFlow): ConntrackMap | undefined {
  return maps.find((m) => m.isIPv4 === (flow.family === 4) && m.isTCP === (flow.proto === 6));
}

export function ctGet(tokens: readonly string[], o: GetOptions, g: GlobalOptions): void {
  const fmt = parseOutput(o.output);
  const flow = parseFlow(tokens);
  if (flow === undefined) throw new CliError('ct get needs a flow: <proto> [IN|OUT|SVC] <src:port> [->] <dst:port> [related]');
  const node = cliNode(g);
  const out = new SyncWriter();
  try {
    const cluster = clusterOf([], o.cluster, node);
    const all = cluster === undefined ? node.ct.maps() : node.cluster(cluster).ct.maps();
    const want = mapFor(all, flow);
    if (want === undefined) throw new CliError(`no ${flow.family === 4 ? 'IPv4' : 'IPv6'} CT maps on this node (--ipv4/--ipv6?)`);
    const [map] = openSelection([want], 'CT map');
    if (map === undefined) throw new CliError('unreachable: openSelection returned nothing');
    const dirs: FlowDir[] = flow.dir === undefined ? ['OUT', 'IN', 'SVC'] : [flow.dir];
    const hits: Hit[] = [];
    for (const key of dirs.flatMap((d) => printedKeys(flow, d))) {
      const entry = map.lookup(key);
      if (entry !== undefined) hits.push({ map, key, entry, nat: node.natPairOf(map, key, entry) });
    }
    if (hits.length === 0) throw new CliError(`no CT entry for ${flowText(flow)} in ${map.path()}`);
    const natMaps = cluster === undefined ? node.nat.maps() : node.cluster(cluster).nat.maps();
    const natName = natMaps.find((n) => n.isIPv4 === map.isIPv4)?.name;
    if (fmt.kind !== 'text') {
      writeValue(fmt, out, new GetResult(hits, natName), (v) => marshalIndent(v));
      return;
    }
    const created = natCreatedFormatter({ mode: 'ktime' }, node.settings.clock);
    for (const h of hits) {
      out.write(ctEntryText(h.key, h.entry) ?? '');
      for (const n of h.nat) out.write(`  ${n.role.padEnd(7)} ${natLine(n.key, n.entry, created) ?? ''}`);
    }
  } finally {
    out.flush();
    node.close();
  }
}
