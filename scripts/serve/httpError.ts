/**
 * The error a request handler throws to answer with a status: the status, a kind (the label of
 * `deltaflow_errors_total{kind}` in /metrics) and a one-line message that names the row, the column
 * or the limit concerned. The server answers `{"error": message}` with that status.
 */

/** Every kind of error the server counts (docs/serve.md lists them). */
export type ErrorKind =
  | 'bad_request'
  | 'bad_row'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'unsupported_media_type'
  | 'body_too_large'
  | 'too_many_rows'
  | 'duplicate_id'
  | 'non_finite'
  | 'bad_model'
  | 'not_learning'
  | 'too_many_clients'
  | 'timeout'
  | 'client_error'
  | 'internal';

export const ERROR_KINDS: readonly ErrorKind[] = [
  'bad_request',
  'bad_row',
  'unauthorized',
  'forbidden',
  'not_found',
  'method_not_allowed',
  'unsupported_media_type',
  'body_too_large',
  'too_many_rows',
  'duplicate_id',
  'non_finite',
  'bad_model',
  'not_learning',
  'too_many_clients',
  'timeout',
  'client_error',
  'internal',
];

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly kind: ErrorKind,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}
