/**
 * Per-cluster maps on disk: `<outer>` and `<outer>_<id>` for every cluster
 * ID the settings allow. Shared by the CT and NAT per-cluster managers.
 */
import { wrapError } from '../syscall/errors.js';
import { unpinPath } from '../syscall/map.js';
import type { Settings } from './settings.js';

/**
 * Unpin `<outer>_<id>` for every id in 1…max, then `<outer>` itself,
 * collecting failures into `errs`; absent pins are not failures. Shared by
 * the CT and NAT per-cluster cleanups.
 */
export function unpinOuterAndInner(settings: Settings, outerName: string, errs: Error[]): void {
  for (let id = 1; id <= settings.clusterIDMax; id++) {
    try {
      unpinPath(settings.pinPath(`${outerName}_${id}`));
    } catch (err) {
      errs.push(wrapError(`delete inner map for cluster ID ${id}`, err));
    }
  }
  try {
    unpinPath(settings.pinPath(outerName));
  } catch (err) {
    errs.push(wrapError('delete outer map', err));
  }
}
