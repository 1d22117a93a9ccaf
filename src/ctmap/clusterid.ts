/**
 * Cluster IDs (Cilium pkg/clustermesh/types). ID 0 is the local cluster, so
 * per-cluster maps exist for 1…ClusterIDMax; the maximum is 255, or 511 when
 * the agent runs with max-connected-clusters=511.
 */
export const ClusterIDMin = 0;
export const ClusterIDDefaultMax = 255;
export const ClusterIDExtendedMax = 511;

let clusterIDMaxValue = ClusterIDDefaultMax;

/** The current ClusterIDMax. */
export function clusterIDMax(): number {
  return clusterIDMaxValue;
}

/** Go's max-connected-clusters option: 255 (default) or 511. Returns the previous maximum. */
export function setMaxConnectedClusters(n: number): number {
  if (n !== ClusterIDDefaultMax && n !== ClusterIDExtendedMax) {
    throw new RangeError(`max-connected-clusters must be ${ClusterIDDefaultMax} or ${ClusterIDExtendedMax}, got ${String(n)}`);
  }
  const prev = clusterIDMaxValue;
  clusterIDMaxValue = n;
  return prev;
}

/** Go ValidateClusterID: 0 is reserved, above ClusterIDMax unsupported. */
export function ValidateClusterID(clusterID: number): void {
  if (!Number.isInteger(clusterID) || clusterID < 0 || clusterID > 0xffffffff) {
    throw new TypeError(`ClusterID must be an unsigned 32-bit integer, got ${String(clusterID)}`);
  }
  if (clusterID === ClusterIDMin) throw new RangeError('ClusterID 0 is reserved');
  if (clusterID > clusterIDMaxValue) throw new RangeError(`ClusterID > ${clusterIDMaxValue} is not supported`);
}
