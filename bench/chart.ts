/**
 * The scale chart of `make bench`: nanoseconds per entry against map size, ctmap and C, one panel per job —
 * as text for the terminal and as an SVG (log-scaled size axis) next to bench/results/bench.json.
 */

export interface Series {
  readonly label: string;
  /** [entries, ns per entry] points, ascending by entries. */
  readonly points: readonly (readonly [number, number])[];
}

export interface Panel {
  readonly title: string;
  readonly series: readonly Series[];
}

function short(n: number): string {
  return n >= 1e6 ? `${+(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${+(n / 1e3).toFixed(1)}k` : String(n);
}

/** One line per size and series: a bar scaled to the panel's largest value. */
export function textChart(panels: readonly Panel[], width = 40): string {
  const out: string[] = [];
  for (const p of panels) {
    const max = Math.max(1, ...p.series.flatMap((s) => s.points.map(([, y]) => y)));
    const labelW = Math.max(...p.series.map((s) => s.label.length));
    out.push(`${p.title} (ns per entry)`);
    const sizes = [...new Set(p.series.flatMap((s) => s.points.map(([x]) => x)))].sort((a, b) => a - b);
    for (const n of sizes) {
      for (const s of p.series) {
        const y = s.points.find(([x]) => x === n)?.[1];
        if (y === undefined) continue;
        const bar = '█'.repeat(Math.max(1, Math.round((y / max) * width)));
        out.push(`  ${short(n).padStart(6)}  ${s.label.padEnd(labelW)}  ${bar} ${y.toFixed(0)}`);
      }
    }
    out.push('');
  }
  return out.join('\n');
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Panels side by side in rows of `cols`; x log10(entries), y linear from 0. */
export function svgChart(panels: readonly Panel[], title: string, cols = 3): string {
  const W = 300;
  const H = 220;
  const m = { l: 48, r: 12, t: 28, b: 44 };
  const rows = Math.ceil(panels.length / cols);
  const width = cols * W;
  const height = rows * H + 30;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="14">${esc(title)}</text>`,
  ];
  panels.forEach((p, i) => {
    const ox = (i % cols) * W;
    const oy = 30 + Math.floor(i / cols) * H;
    const xs = p.series.flatMap((s) => s.points.map(([x]) => x));
    const ys = p.series.flatMap((s) => s.points.map(([, y]) => y));
    if (xs.length === 0) return;
    const x0 = Math.log10(Math.min(...xs));
    const x1 = Math.max(x0 + 1e-9, Math.log10(Math.max(...xs)));
    const yMax = Math.max(1, ...ys) * 1.1;
    const px = (x: number): number => ox + m.l + ((Math.log10(x) - x0) / (x1 - x0)) * (W - m.l - m.r);
    const py = (y: number): number => oy + H - m.b - (y / yMax) * (H - m.t - m.b);
    parts.push(`<text x="${ox + W / 2}" y="${oy + 16}" text-anchor="middle" font-weight="bold">${esc(p.title)}</text>`);
    parts.push(`<line x1="${ox + m.l}" y1="${py(0)}" x2="${ox + W - m.r}" y2="${py(0)}" stroke="#444"/>`);
    parts.push(`<line x1="${ox + m.l}" y1="${py(0)}" x2="${ox + m.l}" y2="${oy + m.t}" stroke="#444"/>`);
    for (let k = 0; k <= 4; k++) {
      const y = (yMax / 1.1) * (k / 4);
      parts.push(`<text x="${ox + m.l - 4}" y="${py(y) + 4}" text-anchor="end" fill="#444">${y.toFixed(0)}</text>`);
      parts.push(`<line x1="${ox + m.l}" y1="${py(y)}" x2="${ox + W - m.r}" y2="${py(y)}" stroke="#ddd"/>`);
    }
    for (const x of [...new Set(xs)]) parts.push(`<text x="${px(x)}" y="${py(0) + 14}" text-anchor="middle" fill="#444">${short(x)}</text>`);
    parts.push(`<text x="${ox + m.l + (W - m.l - m.r) / 2}" y="${oy + H - 12}" text-anchor="middle" fill="#444">entries (log scale)</text>`);
    p.series.forEach((s, j) => {
      const c = COLORS[j % COLORS.length] as string;
      const pts = s.points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
      parts.push(`<polyline points="${pts}" fill="none" stroke="${c}" stroke-width="2"/>`);
      for (const [x, y] of s.points) parts.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${c}"/>`);
      parts.push(`<text x="${ox + m.l + 8}" y="${oy + m.t + 12 + j * 13}" fill="${c}">${esc(s.label)}</text>`);
    });
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
