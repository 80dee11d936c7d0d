// Entry of widget.js: <script src="https://HOST/widget.js" data-widget-token="..." defer></script>
// Optional: data-locale="zh-CN|en", data-position="right|left". Exposes window.Parley = {open, close, toggle}.
// Any element with a data-parley-open attribute opens the chat (its value, if any, pre-fills the composer).
import { pickLocale, strings } from './i18n';
import { Widget } from './widget';

interface ParleyApi {
  open(): void;
  close(): void;
  toggle(): void;
}

declare global {
  interface Window {
    Parley?: ParleyApi;
  }
}

function boot(script: HTMLScriptElement): void {
  const token = script.getAttribute('data-widget-token') || '';
  if (!token || token.includes('{{')) {
    console.warn('[parley] widget.js: the script tag has no data-widget-token');
    return;
  }
  const locale = pickLocale(script.getAttribute('data-locale'));
  const w = new Widget({
    token,
    origin: new URL(script.src || '/', location.href).origin,
    locale,
    left: script.getAttribute('data-position') === 'left',
    t: strings(locale),
  });
  window.Parley = { open: () => w.open(), close: () => w.close(), toggle: () => w.toggle() };
}

const script = (document.currentScript ||
  document.querySelector('script[data-widget-token]')) as HTMLScriptElement | null;
if (script && !window.Parley) {
  if (document.body) boot(script);
  else document.addEventListener('DOMContentLoaded', () => boot(script));
}
