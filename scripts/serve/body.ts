/**
 * Request bodies, read with a size limit and never buffered past it.
 *
 * - A `Content-Length` above the limit is refused (413) before a byte of the body is read.
 * - A body without one (chunked) is counted as it arrives: at the first chunk that crosses the limit
 *   the request is paused — nothing more is read or kept — and 413 is answered with
 *   `Connection: close`, so the connection ends after the answer instead of draining the rest.
 * - A client that stops sending is ended by the server's requestTimeout (server.ts), not here.
 *
 * The media type must be one the route reads (`application/json`, `text/csv`), with no charset but
 * UTF-8; the bytes are then decoded with a fatal decoder, so invalid UTF-8 is a 400, never U+FFFD.
 */
import type { IncomingMessage } from 'node:http';
import { findInvalidUtf8 } from '../../src/streams/sources/csvErrors.js';
import { HttpError } from './httpError.js';

export type MediaType = 'application/json' | 'text/csv';

/** The request's media type among `accepted`, or 415 naming them. */
export function mediaType(req: IncomingMessage, accepted: readonly MediaType[]): MediaType {
  const header = req.headers['content-type'] ?? '';
  const [type, ...params] = header.split(';').map((s) => s.trim().toLowerCase());
  const found = accepted.find((a) => a === type);
  const charset = params.find((p) => p.startsWith('charset='))?.slice('charset='.length).replace(/^"|"$/g, '');
  if (found === undefined || (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')) {
    const got = header === '' ? 'no Content-Type' : `Content-Type ${JSON.stringify(header.slice(0, 80))}`;
    throw new HttpError(415, 'unsupported_media_type', `expected Content-Type ${accepted.join(' or ')} (UTF-8), got ${got}`);
  }
  return found;
}

const tooLarge = (limit: number): HttpError =>
  new HttpError(413, 'body_too_large', `the body is larger than the limit of ${limit} bytes`, { Connection: 'close' });

/** The whole body, at most `limit` bytes (413 beyond, without reading on). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    req.pause();
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        done();
        req.pause();
        chunks.length = 0;
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      done();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (): void => {
      done();
      reject(new HttpError(400, 'client_error', 'the request body could not be read'));
    };
    const onAborted = onError;
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

/** The body as text: UTF-8 (a BOM is dropped) or 400 naming the first bad byte's offset. */
export function bodyText(body: Buffer): string {
  const bad = findInvalidUtf8(body);
  if (bad >= 0) throw new HttpError(400, 'bad_request', `the body is not valid UTF-8 (byte 0x${body[bad].toString(16).padStart(2, '0')} at offset ${bad})`);
  return new TextDecoder('utf-8').decode(body);
}
