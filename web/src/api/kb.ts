// The knowledge base (docs/api.md, "Knowledge base"): categories and Markdown articles, zh or en, draft or
// published; published ones appear in the public help center at /help/{account slug}. Everyone reads;
// admins and supervisors write.
import { request } from './http';
import type { ArticleQuery, KbArticle, KbCategory, KbSearchHit, KbLocale, List, NewKbArticle, NewKbCategory, Page } from './types';

const base = (aid: number) => `/accounts/${aid}/kb`;

export function listCategories(aid: number, page: Page = { limit: 200 }): Promise<List<KbCategory>> {
  return request<List<KbCategory>>('GET', `${base(aid)}/categories`, { query: { ...page } });
}

export function createCategory(aid: number, body: NewKbCategory): Promise<KbCategory> {
  return request<KbCategory>('POST', `${base(aid)}/categories`, { body });
}

export function updateCategory(aid: number, id: number, body: Partial<NewKbCategory>): Promise<KbCategory> {
  return request<KbCategory>('PATCH', `${base(aid)}/categories/${id}`, { body });
}

/** 409 conflict while the category still has articles. */
export function deleteCategory(aid: number, id: number): Promise<void> {
  return request<void>('DELETE', `${base(aid)}/categories/${id}`);
}

export function listArticles(aid: number, q: ArticleQuery = {}): Promise<List<KbArticle>> {
  return request<List<KbArticle>>('GET', `${base(aid)}/articles`, {
    query: {
      limit: q.limit ?? 50,
      offset: q.offset,
      q: q.q || undefined,
      category_id: q.category_id,
      status: q.status,
      locale: q.locale,
    },
  });
}

export function getArticle(aid: number, id: number): Promise<KbArticle> {
  return request<KbArticle>('GET', `${base(aid)}/articles/${id}`);
}

export function createArticle(aid: number, body: NewKbArticle): Promise<KbArticle> {
  return request<KbArticle>('POST', `${base(aid)}/articles`, { body });
}

export function updateArticle(aid: number, id: number, body: Partial<NewKbArticle>): Promise<KbArticle> {
  return request<KbArticle>('PATCH', `${base(aid)}/articles/${id}`, { body });
}

export function deleteArticle(aid: number, id: number): Promise<void> {
  return request<void>('DELETE', `${base(aid)}/articles/${id}`);
}

/** Articles and FAQ entries ranked for a query (BM25). */
export function search(aid: number, q: string, locale?: KbLocale): Promise<{ data: KbSearchHit[] }> {
  return request<{ data: KbSearchHit[] }>('GET', `${base(aid)}/search`, { query: { q, locale } });
}
