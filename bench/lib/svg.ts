// A line chart as a standalone SVG (no dependencies): cumulative curves such as objects applied over time.
export interface Series {
  name: string;
  /** [x, y] points, x ascending. */
  points: [number, number][];
  dashed?: boolean;
}

const COLORS = [
  '#d62728',
  '#1f77b4',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#17becf',
  '#bcbd22',
];

/** A "nice" upper bound and tick step for an axis from 0 to max. */
function ticks(max: number): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 0.25 };
  const raw = max / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  return { top: Math.ceil(max / step) * step, step };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function lineChart(o: {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  width?: number;
  height?: number;
}): string {
  const W = o.width ?? 900;
  const H = o.height ?? 520;
  const m = { l: 70, r: 20, t: 40, b: 50 + 18 * Math.ceil(o.series.length / 2) };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const all = o.series.flatMap((s) => s.points);
  const xt = ticks(Math.max(0, ...all.map((p) => p[0])));
  const yt = ticks(Math.max(0, ...all.map((p) => p[1])));
  const X = (x: number) => m.l + (x / xt.top) * pw;
  const Y = (y: number) => m.t + ph - (y / yt.top) * ph;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(o.title)}</text>`,
  ];
  for (let x = 0; x <= xt.top + 1e-9; x += xt.step)
    parts.push(
      `<line x1="${X(x)}" y1="${m.t}" x2="${X(x)}" y2="${m.t + ph}" stroke="#eee"/>`,
      `<text x="${X(x)}" y="${m.t + ph + 16}" text-anchor="middle">${+x.toFixed(6)}</text>`,
    );
  for (let y = 0; y <= yt.top + 1e-9; y += yt.step)
    parts.push(
      `<line x1="${m.l}" y1="${Y(y)}" x2="${m.l + pw}" y2="${Y(y)}" stroke="#eee"/>`,
      `<text x="${m.l - 6}" y="${Y(y) + 4}" text-anchor="end">${+y.toFixed(6)}</text>`,
    );
  parts.push(
    `<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`,
    `<text x="${m.l + pw / 2}" y="${m.t + ph + 34}" text-anchor="middle">${esc(o.xLabel)}</text>`,
    `<text transform="translate(16 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`,
  );
  o.series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length]!;
    const d = s.points.map((p, j) => `${j ? 'L' : 'M'}${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(' ');
    parts.push(
      `<path d="${d}" fill="none" stroke="${c}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    );
    const lx = m.l + (i % 2) * (pw / 2);
    const ly = m.t + ph + 52 + 18 * Math.floor(i / 2);
    parts.push(
      `<line x1="${lx}" y1="${ly - 4}" x2="${lx + 24}" y2="${ly - 4}" stroke="${c}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      `<text x="${lx + 30}" y="${ly}">${esc(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}
