// Widget colours: "#rrggbb", as the server stores them (docs/api.md, inboxes).

export const HEX_COLOR_RE = /^#[0-9a-fA-F]{6}$/;

export function isHexColor(s: string | null | undefined): s is string {
  return typeof s === 'string' && HEX_COLOR_RE.test(s);
}

/** Dark text on light colours, white on the rest: the same rule as the widget (web/widget/widget.ts). */
export function textOn(hex: string): string {
  const n = parseInt(hex.slice(1), 16);
  const lum = (0.299 * (n >> 16) + 0.587 * ((n >> 8) & 255) + 0.114 * (n & 255)) / 255;
  return lum > 0.65 ? '#1f2328' : '#fff';
}

/** Colours offered in the picker. */
export const WIDGET_COLORS = ['#1f6feb', '#0969da', '#1a7f37', '#bf3989', '#8250df', '#cf222e', '#d4731a', '#24292f'];
