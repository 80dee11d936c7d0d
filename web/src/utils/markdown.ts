// A small Markdown reader for article previews: headings, paragraphs, lists, block quotes, code (inline and
// fenced), rules, bold, italic and links. It builds a tree of plain objects, never HTML, and
// components/kb/MarkdownView.vue turns that into elements with Vue's h(), so text in an article can
// only ever become text. Links are kept only when they are http(s) (anything else shows as its text).

export type Inline =
  | { t: 'text'; v: string }
  | { t: 'code'; v: string }
  | { t: 'strong' | 'em'; c: Inline[] }
  | { t: 'link'; href: string; c: Inline[] };

export type Block =
  | { t: 'h'; level: 1 | 2 | 3 | 4 | 5 | 6; c: Inline[] }
  | { t: 'p'; c: Inline[] }
  | { t: 'quote'; c: Inline[] }
  | { t: 'ul'; items: Inline[][] }
  | { t: 'ol'; start: number; items: Inline[][] }
  | { t: 'pre'; v: string }
  | { t: 'hr' };

/** `u` if it is an absolute http(s) URL, else ''. */
export function httpUrl(u: string): string {
  try {
    const url = new URL(u);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : '';
  } catch {
    return '';
  }
}

const BARE_URL = /\bhttps?:\/\/[^\s<>"'）)]+[^\s<>"'）).,;:!?，。；：！？]/giu;

/** Plain text with bare http(s) addresses made links. */
function textWithLinks(s: string, out: Inline[]): void {
  let last = 0;
  for (const m of s.matchAll(BARE_URL)) {
    const at = m.index ?? 0;
    const href = httpUrl(m[0]);
    if (!href) continue;
    if (at > last) out.push({ t: 'text', v: s.slice(last, at) });
    out.push({ t: 'link', href, c: [{ t: 'text', v: m[0] }] });
    last = at + m[0].length;
  }
  if (last < s.length) out.push({ t: 'text', v: s.slice(last) });
}

const LINK = /^\[((?:[^\][]|\[[^\]]*\])+)\]\(\s*<?([^\s)>]+)>?(?:\s+["'][^"']*["'])?\s*\)/;
const word = (ch: string | undefined) => !!ch && /[\p{L}\p{N}]/u.test(ch);

export function parseInline(s: string, depth = 0): Inline[] {
  const out: Inline[] = [];
  let buf = '';
  const flush = () => {
    if (buf) textWithLinks(buf, out);
    buf = '';
  };
  let i = 0;
  while (i < s.length) {
    const ch = s[i];
    if (ch === '\\' && i + 1 < s.length && /[\\`*_[\]()#+\-.!>]/.test(s[i + 1])) {
      buf += s[i + 1];
      i += 2;
      continue;
    }
    if (ch === '`') {
      const j = s.indexOf('`', i + 1);
      if (j > i + 1) {
        flush();
        out.push({ t: 'code', v: s.slice(i + 1, j) });
        i = j + 1;
        continue;
      }
    }
    if (depth < 8) {
      const two = s.slice(i, i + 2);
      if ((two === '**' || two === '__') && s[i + 2] && s[i + 2] !== ' ') {
        const j = s.indexOf(two, i + 2);
        if (j > i + 2 && s[j - 1] !== ' ') {
          flush();
          out.push({ t: 'strong', c: parseInline(s.slice(i + 2, j), depth + 1) });
          i = j + 2;
          continue;
        }
      }
      // *em* anywhere; _em_ only at word edges (snake_case stays as it is).
      if ((ch === '*' || (ch === '_' && !word(s[i - 1]))) && s[i + 1] && s[i + 1] !== ' ' && s[i + 1] !== ch) {
        let j = s.indexOf(ch, i + 1);
        while (j > 0 && ch === '_' && word(s[j + 1])) j = s.indexOf(ch, j + 1);
        if (j > i + 1 && s[j - 1] !== ' ') {
          flush();
          out.push({ t: 'em', c: parseInline(s.slice(i + 1, j), depth + 1) });
          i = j + 1;
          continue;
        }
      }
      if (ch === '[') {
        const m = LINK.exec(s.slice(i));
        if (m) {
          flush();
          const href = httpUrl(m[2]);
          const label = parseInline(m[1], depth + 1);
          if (href) out.push({ t: 'link', href, c: label });
          else out.push(...label);
          i += m[0].length;
          continue;
        }
      }
    }
    buf += ch;
    i++;
  }
  flush();
  return out;
}

const FENCE = /^\s{0,3}(```|~~~)/;
const HEADING = /^\s{0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$/;
const RULE = /^\s{0,3}([-*_])(?:\s*\1){2,}\s*$/;
const QUOTE = /^\s{0,3}>\s?(.*)$/;
const UL = /^\s{0,3}[-*+]\s+(.*)$/;
const OL = /^\s{0,3}(\d{1,9})[.)]\s+(.*)$/;

function startsBlock(line: string): boolean {
  return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) || UL.test(line) || OL.test(line);
}

export function parseMarkdown(md: string): Block[] {
  const lines = md.replace(/\r\n?/g, '\n').split('\n');
  const out: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) {
      i++;
      continue;
    }
    let m: RegExpExecArray | null;
    if ((m = FENCE.exec(line))) {
      const fence = m[1];
      const code: string[] = [];
      i++;
      while (i < lines.length && !lines[i].trimStart().startsWith(fence)) code.push(lines[i++]);
      i++; // the closing fence (or the end)
      out.push({ t: 'pre', v: code.join('\n') });
      continue;
    }
    if ((m = HEADING.exec(line))) {
      out.push({ t: 'h', level: m[1].length as 1 | 2 | 3 | 4 | 5 | 6, c: parseInline(m[2]) });
      i++;
      continue;
    }
    if (RULE.test(line)) {
      out.push({ t: 'hr' });
      i++;
      continue;
    }
    if (QUOTE.test(line)) {
      const parts: string[] = [];
      while (i < lines.length && (m = QUOTE.exec(lines[i]))) {
        parts.push(m[1]);
        i++;
      }
      out.push({ t: 'quote', c: parseInline(parts.join(' ').trim()) });
      continue;
    }
    const ul = UL.test(line);
    if (ul || OL.test(line)) {
      const re = ul ? UL : OL;
      const items: string[] = [];
      const start = ul ? 1 : Number(OL.exec(line)![1]);
      while (i < lines.length) {
        const l = lines[i];
        if ((m = re.exec(l))) {
          items.push(ul ? m[1] : m[2]);
          i++;
        } else if (l.trim() && /^\s+/.test(l) && items.length && !startsBlock(l)) {
          items[items.length - 1] += ' ' + l.trim(); // an item's continuation line
          i++;
        } else break;
      }
      const parsed = items.map((s) => parseInline(s.trim()));
      out.push(ul ? { t: 'ul', items: parsed } : { t: 'ol', start, items: parsed });
      continue;
    }
    const para: string[] = [];
    while (i < lines.length && lines[i].trim() && (para.length === 0 || !startsBlock(lines[i]))) para.push(lines[i++].trim());
    out.push({ t: 'p', c: parseInline(para.join(' ')) });
  }
  return out;
}

/** The text of some Markdown without its marks (for one-line previews such as search snippets). */
export function markdownText(md: string): string {
  const flat = (list: Inline[]): string => list.map((n) => (n.t === 'text' || n.t === 'code' ? n.v : flat(n.c))).join('');
  return parseMarkdown(md)
    .map((b) => {
      switch (b.t) {
        case 'h':
        case 'p':
        case 'quote':
          return flat(b.c);
        case 'ul':
        case 'ol':
          return b.items.map(flat).join(' · ');
        case 'pre':
          return b.v;
        case 'hr':
          return '';
      }
    })
    .filter(Boolean)
    .join(' ');
}
