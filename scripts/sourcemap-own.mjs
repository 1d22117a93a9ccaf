// Drops every source under node_modules/ from an esbuild source map, so a bundle that inlines a dependency
// (commander, for start-up time) still maps back only to ctmap's own TypeScript. Why: the suite's coverage
// follows the CLI bundle's source maps (tap → v8-to-istanbul), and a dependency listed there is counted as if
// it were ctmap's code. Generated positions that came from a dropped source become unmapped (a 1-field segment).
//
// The format is the Source Map v3 "mappings" string: lines split by ';', segments by ',', each segment 1, 4 or
// 5 base64 VLQ fields — generated column (relative within the line), then source index, original line,
// original column and name index, each relative to the previous segment's across the whole map.
// https://sourcemaps.info/spec.html ("Proposed Format", "Base 64 VLQ").

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DIGIT = new Map([...B64].map((c, i) => [c, i]));

/** The fields of one segment. */
export function decodeSegment(s) {
  const out = [];
  let value = 0;
  let shift = 0;
  for (const c of s) {
    const d = DIGIT.get(c);
    if (d === undefined) throw new Error(`source map: ${JSON.stringify(c)} is not a base64 VLQ digit`);
    value += (d & 31) * 2 ** shift;
    if (d & 32) {
      shift += 5;
      continue;
    }
    out.push(value % 2 === 1 ? -((value - 1) / 2) : value / 2);
    value = 0;
    shift = 0;
  }
  if (shift !== 0) throw new Error(`source map: segment ${JSON.stringify(s)} ends inside a number`);
  return out;
}

export function encodeSegment(fields) {
  let s = '';
  for (const f of fields) {
    let v = f < 0 ? -f * 2 + 1 : f * 2;
    do {
      let d = v % 32;
      v = Math.floor(v / 32);
      if (v > 0) d |= 32;
      s += B64[d];
    } while (v > 0);
  }
  return s;
}

/** A copy of `map` without the sources `drop(path)` selects; mappings into them become unmapped. */
export function dropSources(map, drop) {
  const keep = [];
  const index = map.sources.map((src) => {
    if (drop(src)) return -1;
    keep.push(src);
    return keep.length - 1;
  });
  const sources = keep;
  const sourcesContent = map.sourcesContent === undefined ? undefined : map.sourcesContent.filter((_, i) => index[i] !== -1);
  // Absolute state while reading, and the previous written values while writing.
  let src = 0, line = 0, col = 0, name = 0;
  let wSrc = 0, wLine = 0, wCol = 0, wName = 0;
  const lines = map.mappings.split(';').map((text) => {
    let genCol = 0;
    let wGen = 0;
    const segs = [];
    for (const seg of text === '' ? [] : text.split(',')) {
      const f = decodeSegment(seg);
      if (f.length !== 1 && f.length !== 4 && f.length !== 5) throw new Error(`source map: a segment has ${f.length} fields`);
      genCol += f[0];
      const out = [genCol - wGen];
      if (f.length >= 4) {
        src += f[1];
        line += f[2];
        col += f[3];
        if (f.length === 5) name += f[4];
        const to = index[src];
        if (to === undefined) throw new Error(`source map: source index ${src} out of range`);
        if (to !== -1) {
          out.push(to - wSrc, line - wLine, col - wCol);
          wSrc = to; wLine = line; wCol = col;
          if (f.length === 5) {
            out.push(name - wName);
            wName = name;
          }
        }
      }
      wGen = genCol;
      segs.push(encodeSegment(out));
    }
    return segs.join(',');
  });
  const result = { ...map, sources, mappings: lines.join(';') };
  if (sourcesContent !== undefined) result.sourcesContent = sourcesContent;
  return result;
}
