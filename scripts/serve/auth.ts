/**
 * Who may talk to the server. It binds 127.0.0.1 unless `--host` names another address, and any
 * address but the loopback ones (127.0.0.1, ::1, localhost) needs `--token`. With a token, every
 * request must carry `Authorization: Bearer <token>`; the comparison is constant-time (both sides are
 * hashed with SHA-256 first, so neither the token's length nor the position of a first difference
 * shows in the timing).
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** Addresses that only this machine can reach, where a server may run without a token. */
export const LOOPBACK_HOSTS: readonly string[] = ['127.0.0.1', '::1', 'localhost'];

/** Shortest token accepted: guessing 16 characters over the network is out of reach. */
export const MIN_TOKEN_LENGTH = 16;

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** A check of the Authorization header against `token`. */
export function bearerCheck(token: string): (header: string | undefined) => boolean {
  const expected = digest(token);
  return (header) => {
    if (header === undefined) return false;
    const match = /^Bearer[ ]+(\S+)[ ]*$/i.exec(header);
    return match !== null && timingSafeEqual(digest(match[1]), expected);
  };
}
