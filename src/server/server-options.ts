// Settings of the HTTP server (everything of `serval serve` that is not an engine argument).

export interface CorsOptions {
  origins: string[];
  methods: string[];
  headers: string[];
  credentials: boolean;
}

/** Server-wide defaults for structured output (from --structured-outputs-config). */
export interface StructuredDefaults {
  disableAnyWhitespace?: boolean;
  disableAdditionalProperties?: boolean;
  whitespacePattern?: string;
}

export interface ServerOptions {
  /** undefined = all interfaces */
  host?: string;
  port: number;
  /** accepted bearer keys on /v1 routes; empty = no auth */
  apiKeys: string[];
  /** names the model answers to; the first one is reported in responses */
  servedModelNames: string[];
  /** what /v1/models reports as `root` (the model path or id) */
  modelRoot: string;
  cors: CorsOptions;
  /** prefix a path-based proxy adds (reported in the OpenAPI `servers`) */
  rootPath: string;
  tls: { keyFile: string; certFile: string } | null;
  enableLogRequests: boolean;
  /** longest prompt text / id list printed in request logs; null = all */
  maxLogLen: number | null;
  /** one access-log line per HTTP request */
  accessLog: boolean;
  /** largest request body in bytes (413 above) */
  bodyLimit: number;
  structuredDefaults: StructuredDefaults;
}

export const DEFAULT_SERVER_OPTIONS: ServerOptions = {
  port: 8000,
  apiKeys: [],
  servedModelNames: ['serval'],
  modelRoot: 'serval',
  cors: { origins: ['*'], methods: ['*'], headers: ['*'], credentials: false },
  rootPath: '',
  tls: null,
  enableLogRequests: false,
  maxLogLen: null,
  accessLog: true,
  bodyLimit: 32 * 1024 * 1024,
  structuredDefaults: {},
};
