import type { ScenarioResult } from './types.js';

const WORKER = '#2563eb';
const BASELINE = '#9ca3af';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return '—';
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/**
 * One SVG per scenario: for every figure a pair of horizontal bars, worker (blue) and the
 * baseline (grey; bare Baileys unless the scenario names another), each bar scaled to the largest value of its own figure (figures differ in
 * magnitude), labelled with the value, p95, the ratio and the target.
 */
export function renderChart(result: ScenarioResult, mode: string): string {
  const figures = result.figures;
  const width = 900;
  const left = 230;
  const barMax = 430;
  const rowH = 22;
  const groupGap = 30;
  const top = 70;
  const height = top + figures.length * (2 * rowH + groupGap) + 30;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  out.push(`<text x="16" y="24" font-size="16" font-weight="bold">${esc(result.title)} (${esc(mode)})</text>`);
  out.push(`<rect x="16" y="38" width="12" height="12" fill="${WORKER}"/><text x="34" y="49">wa-worker</text>`);
  out.push(`<rect x="120" y="38" width="12" height="12" fill="${BASELINE}"/><text x="138" y="49">${esc(result.baselineLabel ?? 'bare Baileys')}</text>`);
  out.push(
    `<text x="${result.baselineLabel ? 300 : 250}" y="49" fill="#555">bar = ${esc(figures[0]?.stat ?? 'p50')}; label: value (p95) · ratio · target</text>`,
  );
  if (result.status !== 'ok')
    out.push(`<text x="16" y="${top + 10}" fill="#b91c1c">${esc(result.status)}: ${esc((result.error ?? result.notes[0] ?? '').slice(0, 120))}</text>`);
  let y = top;
  for (const f of figures) {
    const w = f.stat === 'mean' ? f.worker.mean : f.worker.p50;
    const b = f.baseline ? (f.stat === 'mean' ? f.baseline.mean : f.baseline.p50) : Number.NaN;
    const max = Math.max(Number.isFinite(w) ? w : 0, Number.isFinite(b) ? b : 0) || 1;
    const label = `${f.name} [${f.unit}]`;
    out.push(`<text x="16" y="${y + rowH}" font-weight="bold">${esc(label.length > 34 ? label.slice(0, 33) + '…' : label)}</text>`);
    const bar = (val: number, p95: number | undefined, color: string, yy: number) => {
      const len = Number.isFinite(val) ? Math.max(1, (val / max) * barMax) : 0;
      out.push(`<rect x="${left}" y="${yy}" width="${len.toFixed(1)}" height="${rowH - 4}" fill="${color}"/>`);
      const text = Number.isFinite(val) ? `${fmt(val)}${p95 !== undefined && Number.isFinite(p95) && f.stat === 'p50' ? ` (p95 ${fmt(p95)})` : ''}` : 'n/a';
      out.push(`<text x="${left + len + 6}" y="${yy + rowH - 8}">${esc(text)}</text>`);
    };
    bar(w, f.worker.p95, WORKER, y + 4);
    bar(b, f.baseline?.p95, BASELINE, y + 4 + rowH);
    const extra = [
      f.ratio !== null && Number.isFinite(f.ratio) ? `ratio ${f.ratio.toFixed(2)}×` : '',
      f.target ? `target ${f.target.text}: ${f.target.met === null ? 'n/a at this N' : f.target.met ? 'met' : 'MISSED'}` : '',
    ]
      .filter(Boolean)
      .join(' · ');
    if (extra) out.push(`<text x="16" y="${y + 2 * rowH + 14}" fill="${f.target?.met === false ? '#b91c1c' : '#555'}">${esc(extra)}</text>`);
    y += 2 * rowH + groupGap;
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
