// A sentiment score (-1..1, from the server's classifier) as a word. The server's own label (bot test)
// uses the same cut-offs.
import type { SentimentLabel } from '@/api';

export const NEGATIVE_BELOW = -0.25;
export const POSITIVE_ABOVE = 0.25;

export function sentimentLabel(score: number): SentimentLabel {
  if (score <= NEGATIVE_BELOW) return 'negative';
  if (score >= POSITIVE_ABOVE) return 'positive';
  return 'neutral';
}
