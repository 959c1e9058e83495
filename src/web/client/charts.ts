/**
 * The charts: a sparkline per ticket in the list (a small SVG, one bar per
 * slice of the period) and the histograms of the ticket and overview pages
 * (uPlot, bundled into the page's script so it works offline). Every chart
 * also has its numbers as a table for keyboards, screen readers and tests.
 */

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { h, svg } from './dom.js';
import { bucketLabel, count, utc } from './format.js';

export interface BucketCount {
  readonly start: string;
  readonly count: number;
}

export interface Mark {
  readonly kind: string;
  readonly at: string;
  readonly release: string | null;
}

export function sparkline(points: readonly number[], label: string): SVGElement {
  const width = 120;
  const height = 24;
  const max = Math.max(1, ...points);
  const step = width / Math.max(1, points.length);
  const bars = points.map((value, i) => {
    const barHeight = value === 0 ? 0 : Math.max(1, Math.round((value / max) * height));
    return svg('rect', {
      x: (i * step).toFixed(1),
      y: height - barHeight,
      width: Math.max(1, step - 1).toFixed(1),
      height: barHeight,
    });
  });
  return svg(
    'svg',
    {
      class: 'spark',
      viewBox: `0 0 ${width} ${height}`,
      width,
      height,
      role: 'img',
      'aria-label': label,
      'data-points': points.join(','),
    },
    svg('title', {}, label),
    ...bars,
  );
}

const MARK_COLORS: Record<string, string> = {
  solved: '#2e8540',
  regressed: '#d0342c',
  reopened: '#b26b00',
  muted: '#777777',
  unmuted: '#3b6fd6',
};

/** A histogram with its marks and its table; `title` names it for screen readers. */
export function histogram(
  buckets: readonly BucketCount[],
  bucket: string,
  marks: readonly Mark[],
  title: string,
): HTMLElement {
  const chart = h('div', { class: 'chart', role: 'img', 'aria-label': `${title}: bar chart` });
  const table = bucketTable(buckets, bucket, title);
  const legend = marks.length === 0 ? null : markList(marks);
  const figure = h('figure', { class: 'histogram' }, chart, legend, table);
  // Drawn once the figure is in the page, so it takes the page's width, and again when that changes.
  let plot: uPlot | undefined;
  const observer = new ResizeObserver(() => {
    const width = Math.max(320, chart.clientWidth);
    if (plot === undefined) plot = draw(chart, width, buckets, bucket, marks);
    else if (Math.abs(plot.width - width) > 4) plot.setSize({ width, height: plot.height });
  });
  observer.observe(chart);
  return figure;
}

/** Axis labels in UTC, as the buckets are: days as MM-DD, hours and minutes as HH:MM (with the day at midnight). */
function utcLabels(splits: number[], bucket: string): string[] {
  return splits.map((s) => {
    const iso = new Date(s * 1000).toISOString();
    const day = iso.slice(5, 10);
    const time = iso.slice(11, 16);
    if (bucket === 'day') return day;
    return time === '00:00' ? `${day}\n${time}` : time;
  });
}

function draw(
  target: HTMLElement,
  width: number,
  buckets: readonly BucketCount[],
  bucket: string,
  marks: readonly Mark[],
): uPlot {
  const xs = buckets.map((b) => Date.parse(b.start) / 1000);
  const ys = buckets.map((b) => b.count);
  const styles = getComputedStyle(document.documentElement);
  const ink = styles.getPropertyValue('--ink').trim() || '#222';
  const bar = styles.getPropertyValue('--bar').trim() || '#3b6fd6';
  const markTimes = marks.map((m) => ({ x: Date.parse(m.at) / 1000, color: MARK_COLORS[m.kind] ?? ink }));
  const options: uPlot.Options = {
    width,
    // Bars and splits on UTC boundaries, whatever the viewer's zone.
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    height: 220,
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.1] } },
    axes: [
      { stroke: ink, grid: { show: false }, values: (_u, splits) => utcLabels(splits, bucket) },
      { stroke: ink, grid: { stroke: 'rgba(128,128,128,0.25)' }, size: 60 },
    ],
    series: [
      {},
      {
        label: 'occurrences',
        stroke: bar,
        fill: bar,
        paths: uPlot.paths.bars!({ size: [0.85, 60] }),
        points: { show: false },
      },
    ],
    hooks: {
      draw: [
        (u) => {
          const { ctx, bbox } = u;
          ctx.save();
          ctx.lineWidth = 2 * devicePixelRatio;
          for (const mark of markTimes) {
            const x = u.valToPos(mark.x, 'x', true);
            if (x < bbox.left || x > bbox.left + bbox.width) continue;
            ctx.strokeStyle = mark.color;
            ctx.beginPath();
            ctx.moveTo(x, bbox.top);
            ctx.lineTo(x, bbox.top + bbox.height);
            ctx.stroke();
          }
          ctx.restore();
        },
      ],
    },
  };
  target.dataset.bucket = bucket;
  return new uPlot(options, [xs, ys], target);
}

function markList(marks: readonly Mark[]): HTMLElement {
  return h(
    'ul',
    { class: 'marks', 'aria-label': 'history' },
    ...marks.map((m) =>
      h(
        'li',
        { class: `mark mark-${m.kind}` },
        h('span', { class: 'swatch', 'aria-hidden': 'true' }),
        `${m.kind} ${utc(m.at)}`,
        m.release === null ? '' : ` (release ${m.release})`,
      ),
    ),
  );
}

function bucketTable(buckets: readonly BucketCount[], bucket: string, title: string): HTMLElement {
  const rows = buckets.filter((b) => b.count > 0);
  return h(
    'details',
    { class: 'numbers' },
    h('summary', {}, `${title} as a table (${rows.length} non-empty ${bucket}s)`),
    h(
      'table',
      { class: 'buckets' },
      h(
        'thead',
        {},
        h('tr', {}, h('th', { scope: 'col' }, `${bucket} (UTC)`), h('th', { scope: 'col' }, 'occurrences')),
      ),
      h(
        'tbody',
        {},
        ...rows.map((b) =>
          h(
            'tr',
            { 'data-start': b.start, 'data-count': b.count },
            h('td', {}, bucketLabel(b.start, bucket)),
            h('td', { class: 'num' }, count(b.count)),
          ),
        ),
      ),
    ),
  );
}
