// The signed-in agent's availability (online, away, offline).
import { request } from './http';
import type { Availability } from './types';

export function setAvailability(status: Availability): Promise<{ status: Availability }> {
  return request<{ status: Availability }>('PUT', '/me/availability', { body: { status } });
}
