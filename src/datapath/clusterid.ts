/**
 * Cluster IDs (Cilium pkg/clustermesh/types). ID 0 is the local cluster, so
 * per-cluster maps exist for 1…max; the maximum is 255, or 511 when the
 * agent runs with max-connected-clusters=511 (a Settings field here).
 */
export const ClusterIDMin = 0;
export const ClusterIDDefaultMax = 255;
export const ClusterIDExtendedMax = 511;

export type MaxConnectedClusters = typeof ClusterIDDefaultMax | typeof ClusterIDExtendedMax;

/** max-connected-clusters: 255 (default) or 511. */
export function checkMaxConnectedClusters(n: unknown): MaxConnectedClusters {
  if (n !== ClusterIDDefaultMax && n !== ClusterIDExtendedMax) {
    throw new RangeError(`max-connected-clusters must be ${ClusterIDDefaultMax} or ${ClusterIDExtendedMax}, got ${String(n)}`);
  }
  return n;
}

/** Go ValidateClusterID against a maximum: 0 is reserved, above the maximum unsupported. */
export function validateClusterID(clusterID: number, max: number): void {
  if (!Number.isInteger(clusterID) || clusterID < 0 || clusterID > 0xffffffff) {
    throw new TypeError(`ClusterID must be an unsigned 32-bit integer, got ${String(clusterID)}`);
  }
  if (clusterID === ClusterIDMin) throw new RangeError('ClusterID 0 is reserved');
  if (clusterID > max) throw new RangeError(`ClusterID > ${max} is not supported`);
}
