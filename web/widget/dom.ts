// Tiny DOM helpers. Text always goes in through textContent / text nodes, never innerHTML.

type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | ((e: any) => void)>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** h('div', {class: 'x', onclick: fn, text: 'hi'}, child...) */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  ...kids: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const k in attrs) {
    const v = attrs[k];
    if (v == null || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of kids) if (c) el.append(c);
  return el;
}

const paths = {
  chat: 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z',
  close: 'M6 6l12 12M18 6L6 18',
  clip: 'M21 11l-8.5 8.5a5 5 0 0 1-7-7L14 4a3.5 3.5 0 0 1 5 5l-8.5 8.5a2 2 0 0 1-3-3L15 7',
  send: 'M3 11l18-8-8 18-2-8z',
};

/** An inline SVG icon (stroked, currentColor). */
export function icon(name: keyof typeof paths): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  const p = document.createElementNS(ns, 'path');
  p.setAttribute('d', paths[name]);
  svg.append(p);
  return svg;
}

/** Plain text with http(s) links turned into safe <a> elements. */
export function linkify(text: string): DocumentFragment {
  const f = document.createDocumentFragment();
  const re = /\bhttps?:\/\/[^\s<>"']+/gi;
  let at = 0;
  for (let m; (m = re.exec(text)); ) {
    const raw = m[0].replace(/[.,;:!?)\]}'"，。！？）】]+$/, '');
    const href = safeUrl(raw);
    if (!href) continue;
    f.append(text.slice(at, m.index), h('a', { href, target: '_blank', rel: 'noopener noreferrer', text: raw }));
    at = m.index + raw.length;
    re.lastIndex = at;
  }
  f.append(text.slice(at));
  return f;
}

/** `u` resolved against `base`, only if it is http(s); else ''. */
export function safeUrl(u: string, base?: string): string {
  try {
    const url = new URL(u, base);
    return /^https?:$/.test(url.protocol) ? url.href : '';
  } catch {
    return '';
  }
}

/** "14:05" today, else a short date and time, in the widget's locale. */
export function when(iso: string, locale: string): string {
  const d = new Date(iso);
  if (isNaN(+d)) return '';
  const t: Intl.DateTimeFormatOptions = { hour: '2-digit', minute: '2-digit' };
  if (d.toDateString() !== new Date().toDateString()) Object.assign(t, { month: 'short', day: 'numeric' });
  return d.toLocaleString(locale, t);
}
