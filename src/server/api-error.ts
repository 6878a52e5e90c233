// OpenAI's error envelope: {"error": {"message", "type", "param", "code"}}. `type` follows vLLM (the OpenAI SDK's
// exception class names) and `code` is the HTTP status, as vLLM sends them.

export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: number };
}

const TYPE_BY_STATUS: Record<number, string> = {
  400: 'BadRequestError',
  401: 'AuthenticationError',
  403: 'PermissionDeniedError',
  404: 'NotFoundError',
  405: 'MethodNotAllowedError',
  413: 'RequestTooLargeError',
  415: 'UnsupportedMediaTypeError',
  429: 'RateLimitError',
  500: 'InternalServerError',
  501: 'NotImplementedError',
  503: 'ServiceUnavailableError',
};

export function errorType(status: number): string {
  return TYPE_BY_STATUS[status] ?? (status >= 500 ? 'InternalServerError' : 'BadRequestError');
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
  }

  toBody(): ErrorBody {
    return errorBody(this.status, this.message, this.param);
  }
}

export function errorBody(status: number, message: string, param: string | null = null): ErrorBody {
  return { error: { message, type: errorType(status), param, code: status } };
}

export function badRequest(message: string, param: string | null = null): ApiError {
  return new ApiError(400, message, param);
}

/** Engine errors carry a 4xx `status`/`statusCode` when the request itself was at fault (e.g. an unsupported
 * schema keyword); everything else is the server's fault. */
const CLIENT_ERROR_CLASSES = new Set(['RequestRejectedError', 'SamplingParamsError', 'GrammarError', 'RegexSyntaxError', 'UnsupportedSchemaError']);

/** the engine's and structured-output engine's "your request is invalid" errors, matched by class name so the
 * server need not load those modules */
function isClientErrorClass(e: unknown): boolean {
  for (let p = e === null || typeof e !== 'object' ? null : Object.getPrototypeOf(e); p && p !== Error.prototype; p = Object.getPrototypeOf(p)) {
    if (CLIENT_ERROR_CLASSES.has((p as { constructor: { name: string } }).constructor.name)) return true;
  }
  return false;
}

export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (isClientErrorClass(e)) return new ApiError(400, (e as Error).message);
  const err = e as { status?: unknown; statusCode?: unknown; message?: unknown; param?: unknown };
  const status = typeof err?.status === 'number' ? err.status : typeof err?.statusCode === 'number' ? err.statusCode : 500;
  const message = typeof err?.message === 'string' ? err.message : String(e);
  const param = typeof err?.param === 'string' ? err.param : null;
  return new ApiError(status >= 400 && status < 600 ? status : 500, message, param);
}
