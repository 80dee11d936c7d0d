// The typed client for parleyd's REST API (docs/api.md). One module per resource.
export * from './types';
export { ApiError, NETWORK_ERROR, setUnauthorizedHandler } from './http';
export * as auth from './auth';
export * as users from './users';
export * as audit from './audit';
