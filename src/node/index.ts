// The node handle: one object for a node's CT and NAT maps and their settings.
export {
  openNode, Node, ClusterMaps, discoverFamilies,
  type NodeOptions, type NodeGCOptions, type NodeGCResult, type MapCount,
} from './node.js';
export { CtMapSet, NatMapSet, openIfPinned, type CtSetRecord, type NatSetRecord, type From } from './sets.js';
