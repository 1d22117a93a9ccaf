/**
 * Cilium's CT map names and limits (pkg/maps/ctmap constants). TCP names
 * keep the Cilium 1.0 scheme so upgrades do not drop connections.
 */
export const MapNamePrefix = 'cilium_ct';
export const MapNameTCP6 = `${MapNamePrefix}6_`;
export const MapNameTCP4 = `${MapNamePrefix}4_`;
export const MapNameTCP6Global = `${MapNameTCP6}global`;
export const MapNameTCP4Global = `${MapNameTCP4}global`;
export const MapNameAny6 = `${MapNamePrefix}_any6_`;
export const MapNameAny4 = `${MapNamePrefix}_any4_`;
export const MapNameAny6Global = `${MapNameAny6}global`;
export const MapNameAny4Global = `${MapNameAny4}global`;

/** The last possible GCFilter time (math.MaxUint32). */
export const MaxTime = 0xffffffff;

export { CTMapEntriesGlobalTCPDefault, CTMapEntriesGlobalAnyDefault, LimitTableMin, LimitTableMax } from '../datapath/sizes.js';
