// axe-core (the pinned npm release) in every frame of a playwright page, at
// WCAG 2.0, 2.1 and 2.2 levels A and AA. A violation of any impact fails
// the check unless it is excluded below with the reason; serious and
// critical ones are never excluded. Every violation found is printed.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
export const AXE_VERSION = require('axe-core/package.json').version;
export const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa'];

/**
 * Narrow, justified exclusions: [rule id, frame URL pattern, reason].
 * Only moderate or minor rules may be listed.
 */
const EXCLUDED = [];

// axe in one frame. It is evaluated through the DevTools protocol, so the
// frame's Content-Security-Policy (which forbids injected scripts) need
// not change for the test. Frames are checked one by one (iframes: false):
// the widget's frame is on another origin than its host page.
async function runIn(frame) {
  if (!(await frame.evaluate(() => typeof window.axe === 'object'))) await frame.evaluate(SOURCE);
  return frame.evaluate(async (tags) => {
    const result = await window.axe.run(document, {
      runOnly: { type: 'tag', values: tags }, iframes: false, resultTypes: ['violations'],
    });
    return result.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target.join(' '), why: n.failureSummary })),
    }));
  }, TAGS);
}

function excluded(v, url) {
  return EXCLUDED.some(([id, pattern]) => id === v.id && pattern.test(url));
}

function describe(state, url, v) {
  const nodes = v.nodes.map((n) => `      ${n.target}\n        ${String(n.why).replace(/\n/g, '\n        ')}`).join('\n');
  return `${state} [${url}] ${v.impact} ${v.id}: ${v.help}\n${nodes}`;
}

/**
 * Runs axe on every frame of `page` (the host page, the widget's frame,
 * the console's preview and the widget in it) and fails on violations,
 * printing them; `t` is the node:test context (for its diagnostics).
 */
export async function checkA11y(t, page, state) {
  const problems = [];
  let checked = 0;
  for (const frame of page.frames()) {
    const url = frame.url();
    if (frame.isDetached() || url === 'about:blank' || !url) continue;
    let violations;
    try {
      violations = await runIn(frame);
    } catch (e) {
      if (frame.isDetached()) continue; // gone while checking (a page navigating away)
      throw e;
    }
    checked += 1;
    for (const v of violations) {
      const text = describe(state, url, v);
      if (excluded(v, url) && v.impact !== 'serious' && v.impact !== 'critical') {
        t.diagnostic(`excluded: ${text}`);
      } else {
        problems.push(text);
        t.diagnostic(text);
      }
    }
  }
  assert.ok(checked > 0, `${state}: no frame was checked`);
  if (!problems.length) t.diagnostic(`axe-core ${AXE_VERSION}, ${state}: ${checked} frame(s), no violations`);
  assert.deepEqual(problems, [], `axe-core ${AXE_VERSION}, ${state}:\n${problems.join('\n')}`);
}
