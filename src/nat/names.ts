/** Cilium's NAT map names and constants (pkg/maps/nat). */
export const MapNameSnat4Global = 'cilium_snat_v4_external';
export const MapNameSnat6Global = 'cilium_snat_v6_external';
export const MapNameSnat4AllocRetries = 'cilium_snat_v4_alloc_retries';
export const MapNameSnat6AllocRetries = 'cilium_snat_v6_alloc_retries';
export const PerClusterOuterMapNameSnat4 = 'cilium_per_cluster_snat_v4_external';
export const PerClusterOuterMapNameSnat6 = 'cilium_per_cluster_snat_v6_external';
/** SNAT_COLLISION_RETRIES exported to the datapath. */
export const SnatCollisionRetries = 32;
export { NATMapEntriesGlobalDefault } from '../datapath/sizes.js';
