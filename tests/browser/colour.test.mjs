// The contrast-safe branding maths (widget/colour.js, shared by the widget
// frame and the console) on edge colours. No browser: the file runs here
// as the frame runs it, a classic script that sets window.ChatbotColour.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const window = {};
vm.runInNewContext(fs.readFileSync(path.join(HERE, '..', '..', 'widget', 'colour.js'), 'utf8'), window);
// Results cross from the script's realm: plain copies compare by value here.
const R = window.ChatbotColour;
const C = Object.fromEntries(Object.entries(R).map(([k, v]) => [k, typeof v === 'function' ? (...a) => structuredClone(v(...a)) : v]));
const WHITE = [255, 255, 255];
const DARK_BG = C.parseHex('#1b1e26'); // the widget's dark theme

test('parses #rgb and #rrggbb, refuses anything else', () => {
  assert.deepEqual(C.parseHex('#667eea'), [102, 126, 234]);
  assert.deepEqual(C.parseHex('#FfF'), [255, 255, 255]);
  for (const bad of ['', 'red', '#12345', '#gggggg', null, 'rgb(1,2,3)']) assert.equal(C.parseHex(bad), null, String(bad));
  assert.equal(C.toHex([1, 2, 255]), '#0102ff');
});

test('contrast ratios match WCAG\'s published values', () => {
  assert.equal(C.contrast(WHITE, [0, 0, 0]), 21);
  assert.equal(C.contrast(WHITE, WHITE), 1);
  assert.equal(C.contrast(C.parseHex('#777777'), WHITE).toFixed(2), '4.48');
  assert.equal(C.contrast(C.parseHex('#767676'), WHITE).toFixed(2), '4.54');
  assert.equal(C.contrast(C.parseHex('#667eea'), WHITE).toFixed(2), '3.66');
});

// Every surface and every text shade reaches AA, whatever the tenant picks.
const EDGES = ['#ffff00', '#777777', '#808080', '#111111', '#ffffff', '#000000', '#667eea', '#00ff00', '#ff0000', '#0000ff', '#00ffff', '#fff', '#7f7f7f'];

test('a surface in any brand colour carries readable text (4.5:1)', () => {
  for (const hex of EDGES) {
    const s = C.surface(C.parseHex(hex));
    const ratio = C.contrast(C.parseHex(s.background), C.parseHex(s.text));
    assert.ok(ratio >= 4.5, `${hex}: ${s.background} with ${s.text} is ${ratio.toFixed(2)}:1`);
    assert.ok(['#ffffff', '#111111'].includes(s.text), `${hex}: text ${s.text}`);
  }
});

test('light colours keep their colour under near-black text; others keep white text, darkened only as far as needed', () => {
  assert.deepEqual(C.surface(C.parseHex('#ffff00')), { background: '#ffff00', text: '#111111', ratio: C.contrast(C.parseHex('#ffff00'), [17, 17, 17]), adjusted: false });
  assert.equal(C.surface(C.parseHex('#ffffff')).text, '#111111');
  assert.equal(C.surface(C.parseHex('#00ff00')).text, '#111111');
  const mid = C.surface(C.parseHex('#808080'));
  assert.equal(mid.text, '#ffffff');
  assert.ok(mid.adjusted && mid.ratio >= 4.5 && mid.ratio < 5.2, `${mid.background}: ${mid.ratio}`);
  const near = C.surface(C.parseHex('#111111'));
  assert.equal(near.text, '#ffffff');
  assert.equal(near.adjusted, false);
  // The default: white text needs a slightly darker blue (3.66:1 as given).
  const def = C.surface(C.parseHex('#667eea'));
  assert.equal(def.text, '#ffffff');
  assert.equal(def.adjusted, true);
  assert.ok(def.ratio >= 4.5 && def.ratio < 5.5, `${def.background}: ${def.ratio}`);
  const grey = C.surface(C.parseHex('#777777'));
  assert.equal(grey.text, '#ffffff');
  assert.ok(grey.ratio >= 4.5 && grey.ratio < 5.2, `${grey.background}: ${grey.ratio}`);
});

test('the brand colour as text: darkened on white, lightened on the dark theme, untouched when already readable', () => {
  for (const hex of EDGES) {
    const rgb = C.parseHex(hex);
    const onWhite = C.readableOn(rgb, WHITE);
    assert.ok(C.contrast(C.parseHex(onWhite), WHITE) >= 4.5, `${hex} on white: ${onWhite}`);
    const onDark = C.readableOn(rgb, DARK_BG);
    assert.ok(C.contrast(C.parseHex(onDark), DARK_BG) >= 4.5, `${hex} on dark: ${onDark}`);
  }
  assert.equal(C.readableOn(C.parseHex('#111111'), WHITE), '#111111');
  assert.equal(C.readableOn(C.parseHex('#ffff00'), DARK_BG), '#ffff00');
  // Non-text parts (a focus ring) need 3:1 only.
  const ring = C.readableOn(C.parseHex('#ffff00'), WHITE, 3);
  assert.ok(C.contrast(C.parseHex(ring), WHITE) >= 3 && C.contrast(C.parseHex(ring), WHITE) < 4.5, ring);
});
