/** One line of the chart: a strategy's latency per event count. */
export interface Series {
  name: string
  color: string
  /** `extrapolated` points are drawn hollow, joined by a dashed line. */
  points: { n: number; ms: number; extrapolated?: boolean }[]
}

/**
 * Writes a log-log line chart (latency in ms against event count) as a standalone SVG. Hand
 * written on purpose: a few dozen lines instead of a charting dependency.
 */
export function latencyChart(series: Series[], title: string): string {
  const W = 760
  const H = 440
  const m = { left: 70, right: 210, top: 40, bottom: 50 }
  const all = series.flatMap((s) => s.points)
  const xs = all.map((p) => p.n)
  const ys = all.map((p) => p.ms)
  const x0 = Math.log10(Math.min(...xs))
  const x1 = Math.log10(Math.max(...xs))
  const y0 = Math.floor(Math.log10(Math.max(0.01, Math.min(...ys))))
  const y1 = Math.ceil(Math.log10(Math.max(...ys)))
  const px = (n: number) => m.left + ((Math.log10(n) - x0) / (x1 - x0)) * (W - m.left - m.right)
  const py = (ms: number) =>
    H - m.bottom - ((Math.log10(Math.max(ms, 10 ** y0)) - y0) / (y1 - y0)) * (H - m.top - m.bottom)
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${m.left}" y="22" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
  ]
  for (let d = y0; d <= y1; d++) {
    const y = py(10 ** d)
    const label = d >= 3 ? `${10 ** (d - 3)} s` : `${10 ** d} ms`
    out.push(
      `<line x1="${m.left}" x2="${W - m.right}" y1="${y}" y2="${y}" stroke="#ddd"/>`,
      `<text x="${m.left - 8}" y="${y + 4}" text-anchor="end">${label}</text>`,
    )
  }
  for (const n of [...new Set(xs)].sort((a, b) => a - b)) {
    const x = px(n)
    out.push(
      `<line x1="${x}" x2="${x}" y1="${m.top}" y2="${H - m.bottom}" stroke="#eee"/>`,
      `<text x="${x}" y="${H - m.bottom + 18}" text-anchor="middle">${n}</text>`,
    )
  }
  out.push(
    `<text x="${(m.left + W - m.right) / 2}" y="${H - 12}" text-anchor="middle">events of the user (log scale)</text>`,
    `<text transform="translate(16 ${(m.top + H - m.bottom) / 2}) rotate(-90)" text-anchor="middle">latency (log scale)</text>`,
  )
  series.forEach((s, i) => {
    const pts = [...s.points].sort((a, b) => a.n - b.n)
    for (let j = 1; j < pts.length; j++) {
      const a = pts[j - 1]!
      const b = pts[j]!
      const dash = a.extrapolated || b.extrapolated ? ' stroke-dasharray="5 4"' : ''
      out.push(
        `<line x1="${px(a.n)}" y1="${py(a.ms)}" x2="${px(b.n)}" y2="${py(b.ms)}" stroke="${s.color}" stroke-width="2"${dash}/>`,
      )
    }
    for (const p of pts) {
      const fill = p.extrapolated ? 'white' : s.color
      out.push(
        `<circle cx="${px(p.n)}" cy="${py(p.ms)}" r="3.5" fill="${fill}" stroke="${s.color}" stroke-width="1.5"/>`,
      )
    }
    const ly = m.top + 10 + i * 22
    const lx = W - m.right + 16
    out.push(
      `<line x1="${lx}" x2="${lx + 22}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"/>`,
      `<text x="${lx + 28}" y="${ly + 4}">${escapeXml(s.name)}</text>`,
    )
  })
  out.push(
    `<text x="${W - m.right + 16}" y="${m.top + 10 + series.length * 22 + 8}" fill="#666">hollow/dashed: extrapolated</text>`,
    '</svg>',
  )
  return `${out.join('\n')}\n`
}

/** @internal */
function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}
