// Addresses of the public help center, which parleyd renders at /help/{account slug} (same origin as the
// console). Server-given article URLs are used only when they are a path on this server or http(s).

/** "/help/acme", or '' without a slug. */
export function helpCenterUrl(slug: string | null | undefined): string {
  return slug ? `/help/${encodeURIComponent(slug)}` : '';
}

/** A link target for a server-given URL: a path on this server or an http(s) address; else ''. */
export function publicUrl(url: string | null | undefined): string {
  if (!url) return '';
  if (url.startsWith('/') && !url.startsWith('//')) return url;
  return /^https?:\/\//i.test(url) ? url : '';
}

/** The absolute form (https://support.example.com/help/acme/articles/12), to paste into a reply. */
export function absoluteUrl(url: string | null | undefined): string {
  const u = publicUrl(url);
  if (!u) return '';
  try {
    return new URL(u, window.location.origin).href;
  } catch {
    return '';
  }
}
