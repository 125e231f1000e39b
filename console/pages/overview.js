// Overview: totals and daily charts of the last 7, 30 or 90 days, from
// GET /api/tenant/analytics?days=N. Charts are uPlot (vendor/); each has the
// same numbers as a table for screen readers and keyboard users.
import { api } from '../api.js';
import { h, notice, number, announce } from '../ui.js';

const RANGES = [7, 30, 90];

/** Series per chart: [field, label, colour]. Colours keep 3:1 on white. */
const CHARTS = [
  { id: 'activity', title: 'Sessions and messages', series: [
    ['sessions', 'Sessions', '#3b5bdb'], ['messages', 'Messages', '#2b8a3e']] },
  { id: 'users', title: 'New users', series: [['newUsers', 'New users', '#862e9c']] },
  { id: 'feedback', title: 'Feedback', series: [
    ['feedbackUp', 'Thumbs up', '#2b8a3e'], ['feedbackDown', 'Thumbs down', '#c92a2a']] },
  { id: 'tokens', title: 'Tokens', series: [
    ['inputTokens', 'Input tokens', '#1971c2'], ['outputTokens', 'Output tokens', '#e8590c']] },
];

const TOTALS = [
  ['sessions', 'Sessions'], ['messages', 'Messages'], ['newUsers', 'New users'],
  ['feedbackUp', 'Thumbs up'], ['feedbackDown', 'Thumbs down'], ['uploads', 'Uploads'],
  ['providerErrors', 'Provider errors'], ['inputTokens', 'Input tokens'], ['outputTokens', 'Output tokens'],
];

let days = 30;

export function overview(main) {
  const plots = [];
  const body = h('div', { class: 'overview-body', 'aria-busy': 'true' });
  const rangeButtons = RANGES.map((n) => h('button', {
    type: 'button', class: 'segment', 'aria-pressed': String(n === days),
    onclick: () => { days = n; load(); },
  }, `${n} days`));
  main.append(
    h('div', { class: 'page-head' },
      h('h1', {}, 'Overview'),
      h('div', { class: 'segments', role: 'group', 'aria-label': 'Period' }, rangeButtons)),
    body);

  const observer = new ResizeObserver(() => {
    for (const { plot, box } of plots) plot.setSize(size(box));
  });

  async function load() {
    rangeButtons.forEach((b, i) => b.setAttribute('aria-pressed', String(RANGES[i] === days)));
    body.setAttribute('aria-busy', 'true');
    let data;
    try {
      data = await api.analytics(days);
    } catch (e) {
      body.replaceChildren(notice('error', `Could not load the analytics: ${e.message}`));
      body.removeAttribute('aria-busy');
      return;
    }
    for (const { plot, box } of plots.splice(0)) { observer.unobserve(box); plot.destroy(); }
    const rows = (data && data.days) || [];
    const totals = (data && data.totals) || sum(rows);
    body.replaceChildren(budgetCard(data && data.budget), totalsList(totals), ...CHARTS.map((c) => chartCard(c, rows, plots, observer)));
    body.removeAttribute('aria-busy');
    announce(`Showing the last ${days} days.`);
  }

  load();
  return { leave() { observer.disconnect(); for (const { plot } of plots) plot.destroy(); } };
}

function sum(rows) {
  const totals = {};
  for (const [field] of TOTALS) totals[field] = rows.reduce((a, r) => a + (r[field] || 0), 0);
  return totals;
}

/** The month to date against the tenant's caps (settings.budget); a
 * reached threshold is said in words, not only by colour. */
function budgetCard(budget) {
  if (!budget) return '';
  const line = (label, used, cap) => h('div', { class: 'total', dataset: { field: `budget-${label}` } },
    h('dt', {}, label),
    h('dd', {}, cap == null ? `${number(used)} (no cap)` : `${number(used)} of ${number(cap)}`));
  const state = budget.hardReached ? 'Cap reached: messages are ' +
      (budget.onExceeded === 'fallback' ? 'answered by the fallback provider.' : 'refused.')
    : budget.softReached ? `Over ${budget.softPercent}% of a cap.` : 'Within budget.';
  return h('section', { class: 'card', id: 'budget', 'aria-labelledby': 'budget-title' },
    h('h2', { id: 'budget-title' }, `Budget for ${budget.month}`),
    h('p', { class: budget.hardReached || budget.softReached ? 'warning' : '', id: 'budget-state' }, state),
    h('dl', { class: 'totals' },
      line('Messages', Math.max(budget.messages || 0, budget.admitted || 0), budget.monthlyMessages),
      line('Tokens', budget.tokens || 0, budget.monthlyTokens)));
}

function totalsList(totals) {
  return h('section', { 'aria-labelledby': 'totals-title' },
    h('h2', { id: 'totals-title', class: 'sr' }, `Totals for the last ${days} days`),
    h('dl', { class: 'totals', id: 'totals' },
      TOTALS.map(([field, label]) => h('div', { class: 'total', dataset: { field } },
        h('dt', {}, label), h('dd', {}, number(totals[field] || 0))))));
}

function chartCard(chart, rows, plots, observer) {
  const titleId = `chart-${chart.id}-title`;
  const box = h('div', { class: 'chart', role: 'img', 'aria-label': describe(chart, rows) });
  const card = h('section', { class: 'card chart-card', id: `chart-${chart.id}`, 'aria-labelledby': titleId },
    h('h2', { id: titleId }, chart.title),
    box,
    dataTable(chart, rows));
  // uPlot needs the box in the document to measure it.
  requestAnimationFrame(() => {
    if (!box.isConnected || typeof uPlot === 'undefined') return;
    const plot = new uPlot(options(chart, size(box)), seriesData(chart, rows), box);
    // The box is the image (its label says the numbers); the drawing and
    // its legend table are not read out on their own.
    plot.root.setAttribute('aria-hidden', 'true');
    plots.push({ plot, box });
    observer.observe(box);
  });
  return card;
}

function size(box) {
  return { width: Math.max(240, Math.floor(box.clientWidth)), height: 200 };
}

function seriesData(chart, rows) {
  const xs = rows.map((r) => Date.parse(`${r.date}T00:00:00Z`) / 1000);
  return [xs, ...chart.series.map(([field]) => rows.map((r) => r[field] || 0))];
}

function options(chart, { width, height }) {
  return {
    width, height,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    padding: [12, 24, 0, 0],
    cursor: { drag: { x: false, y: false } },
    legend: { live: false },
    scales: { y: { range: (u, min, max) => [0, Math.max(1, max)] } },
    axes: [
      { stroke: '#4a5060', grid: { stroke: '#eceef3' } },
      { stroke: '#4a5060', grid: { stroke: '#eceef3' }, size: 56,
        values: (u, splits) => splits.map((v) => (Number.isInteger(v) ? v.toLocaleString() : '')) },
    ],
    series: [{}, ...chart.series.map(([, label, stroke]) => ({
      label, stroke, width: 2, fill: `${stroke}14`, points: { show: true, size: 5 },
    }))],
  };
}

function describe(chart, rows) {
  const parts = chart.series.map(([field, label]) =>
    `${label}: ${number(rows.reduce((a, r) => a + (r[field] || 0), 0))}`);
  return `${chart.title} per day over ${rows.length} days. ${parts.join(', ')}. The table below has each day.`;
}

function dataTable(chart, rows) {
  return h('details', { class: 'data' },
    h('summary', {}, `${chart.title}: show the numbers`),
    h('div', { class: 'table-wrap' },
      h('table', { dataset: { chart: chart.id } },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Date'),
          chart.series.map(([, label]) => h('th', { scope: 'col' }, label)))),
        h('tbody', {}, [...rows].reverse().map((r) => h('tr', { dataset: { date: r.date } },
          h('th', { scope: 'row' }, r.date),
          chart.series.map(([field]) => h('td', { dataset: { field } }, number(r[field] || 0)))))))));
}
