// Between a user's routing fields and the dialog's form (RoutingProfileFields.vue), with the same checks
// as the server: capacity 0..100 or no limit, skill names 1..40 characters and levels 1..5, languages
// 2..8 lower-case letters or '-', region up to 40 characters.
import { i18n } from '@/i18n';
import type { RoutingProfile, User, UserSkill } from '@/api';
import { charCount } from '@/utils/format';

export interface ProfileForm {
  unlimited: boolean;
  capacity: number;
  skills: UserSkill[];
  languages: string[];
  region: string;
}

export const CAPACITY_MAX = 100;
export const SKILL_MAX = 40;
export const REGION_MAX = 40;
export const SKILLS_MAX = 20;
export const LANGUAGES_MAX = 8;
export const LANGUAGE_RE = /^[a-z-]{2,8}$/;
export const COMMON_LANGUAGES = ['zh', 'en', 'ja', 'ko', 'fr', 'de', 'es'];

export function emptyProfile(): ProfileForm {
  return { unlimited: true, capacity: 3, skills: [], languages: [], region: '' };
}

export function profileOf(u: User): ProfileForm {
  return {
    unlimited: u.capacity === null || u.capacity === undefined,
    capacity: typeof u.capacity === 'number' ? u.capacity : 3,
    skills: (u.skills ?? []).map((s) => ({ ...s })),
    languages: [...(u.languages ?? [])],
    region: u.region ?? '',
  };
}

/** The form as the API's fields, or an error per field. */
export function profileBody(f: ProfileForm): { body: Required<RoutingProfile>; errors: Partial<Record<string, string>> } {
  const { t } = i18n.global;
  const errors: Partial<Record<string, string>> = {};
  const skills = f.skills.map((s) => ({ name: s.name.trim(), level: Math.round(s.level) })).filter((s) => s.name !== '');
  const seen = new Set<string>();
  for (const s of skills) {
    if (charCount(s.name) > SKILL_MAX) errors.skills = t('routingProfile.skillTooLong', { max: SKILL_MAX });
    else if (s.level < 1 || s.level > 5) errors.skills = t('routingProfile.levelRequired', { name: s.name });
    else if (seen.has(s.name.toLowerCase())) errors.skills = t('routingProfile.skillDuplicate', { name: s.name });
    seen.add(s.name.toLowerCase());
  }
  const capacity = f.unlimited ? null : Math.round(f.capacity ?? 0);
  if (capacity !== null && (capacity < 0 || capacity > CAPACITY_MAX)) errors.capacity = t('routingProfile.capacityRange', { max: CAPACITY_MAX });
  if (skills.length > SKILLS_MAX) errors.skills = t('routingProfile.tooManySkills', { max: SKILLS_MAX });
  if (f.languages.length > LANGUAGES_MAX) errors.languages = t('routingProfile.tooManyLanguages', { max: LANGUAGES_MAX });
  const region = f.region.trim();
  if (charCount(region) > REGION_MAX) errors.region = t('routingProfile.regionTooLong', { max: REGION_MAX });
  return { body: { capacity, skills, languages: [...f.languages], region }, errors };
}

/** The top-level field a server error names: "skills[0].level" → "skills". */
export function topField(field: string | undefined): string | undefined {
  return field ? field.split(/[.[]/)[0] : undefined;
}

export function sameProfile(a: RoutingProfile, b: RoutingProfile): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
