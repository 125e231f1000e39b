/*
 * Contrast-safe branding: the colour maths of WCAG 2.2 (relative luminance,
 * contrast ratio) and, from any colour a tenant picks, colours that stay
 * readable at AA (4.5:1 for text). One file for the widget's frame and the
 * console's colour fields (served to both; tests/browser/colour.test.mjs
 * runs it under node). Colours are [r, g, b] arrays of 0-255.
 */
(function (root) {
  'use strict';
  var AA = 4.5;
  var WHITE = [255, 255, 255];
  var NEAR_BLACK = [17, 17, 17]; // #111111: softer than pure black, still ~18.9:1 on white

  /** "#rgb" or "#rrggbb" as [r, g, b]; null for anything else. */
  function parseHex(hex) {
    var m = /^#?([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(String(hex || '').trim());
    if (!m) return null;
    var h = m[1].length === 3 ? m[1].replace(/./g, '$&$&') : m[1];
    return [0, 2, 4].map(function (i) { return parseInt(h.slice(i, i + 2), 16); });
  }
  function toHex(rgb) {
    return '#' + rgb.map(function (c) { return (c + 256).toString(16).slice(1); }).join('');
  }
  function luminance(rgb) {
    var l = rgb.map(function (c) {
      c /= 255;
      return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2];
  }
  /** The contrast ratio of two colours, 1 to 21. */
  function contrast(a, b) {
    var x = luminance(a), y = luminance(b);
    return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
  }
  // `rgb` moved toward `target` step by step (2.5% of the way each) until
  // `ok` holds; the brand's hue stays recognisable.
  function shift(rgb, target, ok) {
    var c = rgb.slice();
    for (var i = 1; i <= 40 && !ok(c); i++) {
      c = rgb.map(function (v, k) { return Math.round(v + (target[k] - v) * i / 40); });
    }
    return c;
  }

  /**
   * A surface in the brand colour with text on it. White text, as brands
   * expect, while white reaches at least 3:1 (the colour is then darkened
   * just enough for 4.5:1); on light colours (yellow, white, lime) near-black
   * text instead, so the colour itself stays.
   * Returns {background, text, ratio, adjusted} with hex colours.
   */
  function surface(rgb) {
    var light = contrast(rgb, WHITE) < 3 && contrast(rgb, NEAR_BLACK) >= AA;
    var text = light ? NEAR_BLACK : WHITE;
    var bg = light ? rgb : shift(rgb, [0, 0, 0], function (c) { return contrast(c, WHITE) >= AA; });
    return { background: toHex(bg), text: toHex(text), ratio: contrast(bg, text), adjusted: toHex(bg) !== toHex(rgb) };
  }

  /**
   * The brand colour as text (or a focus ring) on `background`: darkened on
   * a light background, lightened on a dark one, until it reaches `ratio`
   * (4.5:1 unless given). Returns a hex colour.
   */
  function readableOn(rgb, background, ratio) {
    var need = ratio || AA;
    var target = luminance(background) > 0.18 ? [0, 0, 0] : WHITE;
    return toHex(shift(rgb, target, function (c) { return contrast(c, background) >= need; }));
  }

  var api = {
    AA: AA, WHITE: WHITE, NEAR_BLACK: NEAR_BLACK,
    parseHex: parseHex, toHex: toHex, luminance: luminance, contrast: contrast,
    surface: surface, readableOn: readableOn
  };
  if (typeof module === 'object' && module.exports) module.exports = api;
  else root.ChatbotColour = api;
})(this);
