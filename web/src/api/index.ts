// The typed client for parleyd's REST API (docs/api.md). One module per resource.
export * from './types';
export { ApiError, NETWORK_ERROR, setUnauthorizedHandler, API_BASE } from './http';
export * as auth from './auth';
export * as users from './users';
export * as audit from './audit';
export * as inboxes from './inboxes';
export * as conversations from './conversations';
export * as contacts from './contacts';
export * as canned from './canned';
export * as attachments from './attachments';
export * as presence from './presence';
export * as teams from './teams';
export * as routing from './routing';
export * as kb from './kb';
export * as bot from './bot';
