// vue-i18n set-up: zh-CN and en. The first visit follows navigator.language; a choice made with the
// switcher is kept in localStorage. Element Plus gets the matching locale through elementLocale.
import { computed } from 'vue';
import { createI18n } from 'vue-i18n';
import elEn from 'element-plus/es/locale/lang/en';
import elZhCn from 'element-plus/es/locale/lang/zh-cn';
import en, { type Messages } from './en';
import zhCN from './zh-CN';

export const LOCALES = ['zh-CN', 'en'] as const;
export type Locale = (typeof LOCALES)[number];

const STORAGE_KEY = 'parley.locale';

function storedLocale(): Locale | null {
  try {
    const v = localStorage.getItem(STORAGE_KEY);
    return (LOCALES as readonly string[]).includes(v ?? '') ? (v as Locale) : null;
  } catch {
    return null; // storage disabled
  }
}

export function detectLocale(langs: readonly string[] = navigator.languages?.length ? navigator.languages : [navigator.language]): Locale {
  for (const l of langs) {
    const lower = (l || '').toLowerCase();
    if (lower.startsWith('zh')) return 'zh-CN';
    if (lower.startsWith('en')) return 'en';
  }
  return 'en';
}

export const i18n = createI18n<[Messages], Locale, false>({
  legacy: false,
  locale: storedLocale() ?? detectLocale(),
  fallbackLocale: 'en',
  messages: { en, 'zh-CN': zhCN },
  missingWarn: import.meta.env.DEV,
  fallbackWarn: false,
});

function applyDocumentLang(l: Locale): void {
  document.documentElement.lang = l;
}
applyDocumentLang(i18n.global.locale.value);

export function currentLocale(): Locale {
  return i18n.global.locale.value;
}

export function setLocale(l: Locale): void {
  i18n.global.locale.value = l;
  applyDocumentLang(l);
  try {
    localStorage.setItem(STORAGE_KEY, l);
  } catch {
    /* storage disabled: the choice lasts for this page only */
  }
}

export const elementLocale = computed(() => (i18n.global.locale.value === 'zh-CN' ? elZhCn : elEn));
