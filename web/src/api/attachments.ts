// File uploads: the raw file is the body; the answer is the attachment to send with a message.
import { request } from './http';
import type { Attachment } from './types';

export function uploadAttachment(aid: number, file: File | Blob, filename: string, signal?: AbortSignal): Promise<Attachment> {
  return request<Attachment>('POST', `/accounts/${aid}/attachments`, {
    query: { filename },
    rawBody: file,
    contentType: file.type || 'application/octet-stream',
    signal,
  });
}
