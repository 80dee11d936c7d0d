// Routes. Hash history (#/login, #/accounts/1/users) so parleyd serves index.html at / and needs no SPA
// fallback. Pages are loaded on demand. The guard asks the server who is signed in once (GET /me) and
// sends anyone without a session to the login page.
import { createRouter, createWebHashHistory, type RouteLocationRaw } from 'vue-router';
import { setUnauthorizedHandler } from '@/api';
import { clearSession, loadSession, roleIn, selectAccount, useSession } from '@/stores/session';
import { describeError } from '@/utils/errors';

declare module 'vue-router' {
  interface RouteMeta {
    /** i18n key of the page title. */
    title?: string;
    /** Reachable without a session. */
    public?: boolean;
    /** Only for admins of the account in the path. */
    adminOnly?: boolean;
    /** Only for admins and supervisors of the account in the path. */
    staffOnly?: boolean;
    /** The page fills the content area (no padding): the conversations workspace. */
    fullBleed?: boolean;
    /** The menu entry (route name) to highlight when the page has none of its own (a detail page). */
    menu?: string;
  }
}

export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    {
      path: '/login',
      name: 'login',
      component: () => import('@/views/LoginView.vue'),
      meta: { public: true, title: 'login.title' },
    },
    {
      path: '/',
      component: () => import('@/components/AppLayout.vue'),
      children: [
        { path: '', name: 'home', component: () => import('@/views/NoAccountView.vue'), meta: { title: 'noAccount.title' } },
        {
          path: 'accounts/:aid(\\d+)/conversations/:id(\\d+)?',
          name: 'conversations',
          component: () => import('@/views/ConversationsView.vue'),
          meta: { title: 'conversations.title', fullBleed: true },
        },
        {
          // Short links (#/conversations, #/conversations/42) open the current account's workspace.
          path: 'conversations/:id(\\d+)?',
          name: 'conversations-short',
          component: () => import('@/views/NotFoundView.vue'),
          beforeEnter: (to) => {
            const { state } = useSession();
            if (state.accountId === null) return { name: 'home' };
            const params: Record<string, string | number> = { aid: state.accountId };
            if (to.params.id) params.id = String(to.params.id);
            return { name: 'conversations', params };
          },
        },
        {
          // The live queue: supervisors and admins.
          path: 'accounts/:aid(\\d+)/queue',
          name: 'queue',
          component: () => import('@/views/QueueView.vue'),
          meta: { title: 'queue.title', staffOnly: true },
        },
        {
          path: 'accounts/:aid(\\d+)/canned_responses',
          name: 'canned',
          component: () => import('@/views/CannedResponsesView.vue'),
          meta: { title: 'canned.title' },
        },
        {
          path: 'accounts/:aid(\\d+)/users',
          name: 'users',
          component: () => import('@/views/UsersView.vue'),
          meta: { title: 'users.title' },
        },
        {
          // Admins manage inboxes; supervisors read them all; agents read only theirs (the API filters).
          path: 'accounts/:aid(\\d+)/settings/inboxes',
          name: 'inboxes',
          component: () => import('@/views/InboxesView.vue'),
          meta: { title: 'inboxes.title' },
        },
        {
          path: 'accounts/:aid(\\d+)/settings/inboxes/:id(\\d+)',
          name: 'inbox',
          component: () => import('@/views/InboxDetailView.vue'),
          meta: { title: 'inboxes.title', menu: 'inboxes' },
        },
        {
          path: 'accounts/:aid(\\d+)/settings/teams',
          name: 'teams',
          component: () => import('@/views/TeamsView.vue'),
          meta: { title: 'teams.title' },
        },
        {
          path: 'accounts/:aid(\\d+)/settings/routing_rules',
          name: 'routing-rules',
          component: () => import('@/views/RoutingRulesView.vue'),
          meta: { title: 'rules.title' },
        },
        {
          // The knowledge base, FAQ, intents and the bot: supervisors and admins.
          path: 'accounts/:aid(\\d+)/kb',
          name: 'kb',
          component: () => import('@/views/KnowledgeBaseView.vue'),
          meta: { title: 'kb.title', staffOnly: true },
        },
        {
          path: 'accounts/:aid(\\d+)/kb/articles/new',
          name: 'kb-article-new',
          component: () => import('@/views/KbArticleView.vue'),
          meta: { title: 'kb.newArticle', staffOnly: true, menu: 'kb' },
        },
        {
          path: 'accounts/:aid(\\d+)/kb/articles/:id(\\d+)',
          name: 'kb-article',
          component: () => import('@/views/KbArticleView.vue'),
          meta: { title: 'kb.editArticle', staffOnly: true, menu: 'kb' },
        },
        {
          path: 'accounts/:aid(\\d+)/faqs',
          name: 'faqs',
          component: () => import('@/views/FaqView.vue'),
          meta: { title: 'faq.title', staffOnly: true },
        },
        {
          path: 'accounts/:aid(\\d+)/intents',
          name: 'intents',
          component: () => import('@/views/IntentsView.vue'),
          meta: { title: 'intents.title', staffOnly: true },
        },
        {
          path: 'accounts/:aid(\\d+)/bot/flows',
          name: 'flows',
          component: () => import('@/views/FlowsView.vue'),
          meta: { title: 'flows.title', staffOnly: true },
        },
        {
          path: 'accounts/:aid(\\d+)/bot/flows/new',
          name: 'flow-new',
          component: () => import('@/views/FlowEditView.vue'),
          meta: { title: 'flows.new', staffOnly: true, menu: 'flows' },
        },
        {
          path: 'accounts/:aid(\\d+)/bot/flows/:id(\\d+)',
          name: 'flow',
          component: () => import('@/views/FlowEditView.vue'),
          meta: { title: 'flows.edit', staffOnly: true, menu: 'flows' },
        },
        {
          path: 'accounts/:aid(\\d+)/bot',
          name: 'bot',
          component: () => import('@/views/BotView.vue'),
          meta: { title: 'bot.title', staffOnly: true },
        },
        {
          path: 'accounts/:aid(\\d+)/audit',
          name: 'audit',
          component: () => import('@/views/AuditLogView.vue'),
          meta: { title: 'audit.title', adminOnly: true },
        },
        {
          path: 'profile',
          name: 'profile',
          component: () => import('@/views/ProfileView.vue'),
          meta: { title: 'profile.title' },
        },
        {
          path: ':pathMatch(.*)*',
          name: 'not-found',
          component: () => import('@/views/NotFoundView.vue'),
          meta: { title: 'notFound.title' },
        },
      ],
    },
  ],
});

/** Set when the start-up session check could not reach the server; the login page shows it. */
export let startupError: string | null = null;

/** Where a signed-in user lands: the conversations of the current account. */
export function homeRoute(): RouteLocationRaw {
  const { state } = useSession();
  return state.accountId !== null ? { name: 'conversations', params: { aid: state.accountId } } : { name: 'home' };
}

router.beforeEach(async (to) => {
  const { state } = useSession();
  if (!state.checked) {
    try {
      await loadSession();
      startupError = null;
    } catch (e) {
      startupError = describeError(e);
    }
  }

  if (to.meta.public) {
    if (to.name === 'login' && state.me) return homeRoute();
    return true;
  }
  if (!state.me) {
    const redirect = to.fullPath !== '/' ? to.fullPath : undefined;
    return { name: 'login', query: redirect ? { redirect } : {} };
  }
  if (to.name === 'home' && state.accountId !== null) return homeRoute();

  if (to.params.aid !== undefined) {
    const aid = Number(to.params.aid);
    if (!selectAccount(aid)) {
      return { name: 'not-found', params: { pathMatch: to.path.slice(1).split('/') } };
    }
    if (to.meta.adminOnly && roleIn(aid) !== 'admin') return { name: 'users', params: { aid } };
    if (to.meta.staffOnly && roleIn(aid) !== 'admin' && roleIn(aid) !== 'supervisor') return { name: 'conversations', params: { aid } };
  }
  return true;
});

// A request that comes back 401 means the session ended (expired, revoked, logged out elsewhere).
setUnauthorizedHandler(() => {
  clearSession();
  const current = router.currentRoute.value;
  if (current.name === 'login') return;
  router.replace({ name: 'login', query: { expired: '1', redirect: current.fullPath } });
});
