// Routing rules between the API's shape and the dialog's form, and a one-line summary of a rule.
import { i18n } from '@/i18n';
import type { NewRoutingRule, Priority, RoutingRule, RuleOperator } from '@/api';

export type FieldKind = 'label' | 'page_url' | 'message' | 'intent' | 'prechat' | 'contact';
export const FIELD_KINDS: readonly FieldKind[] = ['label', 'page_url', 'message', 'intent', 'prechat', 'contact'];
/** Kinds that need a name: prechat.<name>, contact.<attribute>. */
export const NAMED_KINDS: readonly FieldKind[] = ['prechat', 'contact'];
export const MAX_CONDITIONS = 10;
export const NAME_MAX = 80;
export const VALUE_MAX = 200;
/** A pre-chat question or contact attribute name in a condition, as the server takes it. */
export const ATTR_RE = /^[A-Za-z0-9_-]{1,40}$/;

export interface ConditionForm {
  kind: FieldKind;
  name: string;
  operator: RuleOperator;
  value: string;
}

export interface RuleForm {
  name: string;
  /** 0: every inbox. */
  inboxId: number;
  match: 'all' | 'any';
  enabled: boolean;
  conditions: ConditionForm[];
  teamId: number | null;
  skill: string;
  minLevel: number;
  priority: Priority | '';
}

export function emptyCondition(): ConditionForm {
  return { kind: 'message', name: '', operator: 'contains', value: '' };
}

export function emptyRule(): RuleForm {
  return { name: '', inboxId: 0, match: 'all', enabled: true, conditions: [emptyCondition()], teamId: null, skill: '', minLevel: 1, priority: '' };
}

export function splitField(field: string): { kind: FieldKind; name: string } {
  const dot = field.indexOf('.');
  const head = (dot < 0 ? field : field.slice(0, dot)) as FieldKind;
  if (dot >= 0 && (NAMED_KINDS as readonly string[]).includes(head)) return { kind: head, name: field.slice(dot + 1) };
  if ((FIELD_KINDS as readonly string[]).includes(field)) return { kind: field as FieldKind, name: '' };
  // A field this console does not know: keep it as a contact attribute so nothing is lost silently.
  return { kind: 'contact', name: field };
}

export function joinField(c: ConditionForm): string {
  return (NAMED_KINDS as readonly string[]).includes(c.kind) ? `${c.kind}.${c.name.trim()}` : c.kind;
}

export function formOf(r: RoutingRule): RuleForm {
  return {
    name: r.name,
    inboxId: r.inbox_id ?? 0,
    match: r.match,
    enabled: r.enabled,
    conditions: r.conditions.map((c) => ({ ...splitField(c.field), operator: c.operator, value: c.value })),
    teamId: r.actions.team_id ?? null,
    skill: r.actions.skill ?? '',
    minLevel: r.actions.min_level ?? 1,
    priority: r.actions.priority ?? '',
  };
}

export function bodyOf(f: RuleForm): NewRoutingRule {
  const actions: NewRoutingRule['actions'] = {};
  if (f.teamId !== null) actions.team_id = f.teamId;
  if (f.skill.trim()) {
    actions.skill = f.skill.trim();
    actions.min_level = f.minLevel;
  }
  if (f.priority) actions.priority = f.priority;
  return {
    name: f.name.trim(),
    inbox_id: f.inboxId === 0 ? null : f.inboxId,
    match: f.match,
    enabled: f.enabled,
    conditions: f.conditions.map((c) => ({ field: joinField(c), operator: c.operator, value: c.value })),
    actions,
  };
}

/** "message contains "refund"" */
export function conditionText(field: string, operator: RuleOperator, value: string): string {
  const { t } = i18n.global;
  const { kind, name } = splitField(field);
  const f = name ? `${t(`rules.fields.${kind}`)} “${name}”` : t(`rules.fields.${kind}`);
  return `${f} ${t(`rules.operators.${operator}`)} “${value}”`;
}
