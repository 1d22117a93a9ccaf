// Types for ./sourcemap-own.mjs (used by the build and by tests/unit/sourcemap-own.test.ts).
export interface SourceMapV3 {
  version: number;
  sources: string[];
  sourcesContent?: (string | null)[];
  names: string[];
  mappings: string;
  [k: string]: unknown;
}
export function decodeSegment(s: string): number[];
export function encodeSegment(fields: readonly number[]): string;
export function dropSources(map: SourceMapV3, drop: (source: string) => boolean): SourceMapV3;
