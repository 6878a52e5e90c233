// `format` values as regexes over the string's characters. Each accepts only valid values (a subset where the
// full definition is not regular, e.g. hostnames limited to 4 labels), never an invalid one.
import { RNode } from '../regex-ast.js';
import { parseRegex } from '../regex-parser.js';

const DATE =
  '(\\d{4}-(0[13578]|1[02])-(0[1-9]|[12]\\d|3[01])|\\d{4}-(0[469]|11)-(0[1-9]|[12]\\d|30)|\\d{4}-02-(0[1-9]|1\\d|2[0-8])' +
  '|(\\d\\d(0[48]|[2468][048]|[13579][26])|([02468][048]|[13579][26])00)-02-29)';
const TIME = '([01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(\\.\\d+)?([Zz]|[+-]([01]\\d|2[0-3]):[0-5]\\d)';
const DUR_DATE = '(\\d+Y(\\d+M)?(\\d+D)?|\\d+M(\\d+D)?|\\d+D)';
const DUR_TIME = '(\\d+H(\\d+M)?(\\d+S)?|\\d+M(\\d+S)?|\\d+S)';
const LABEL = '[A-Za-z0-9]([A-Za-z0-9-]{0,60}[A-Za-z0-9])?';
const HOSTNAME = `${LABEL}(\\.${LABEL}){0,3}`;
const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = `${OCTET}(\\.${OCTET}){3}`;
const H16 = '[0-9A-Fa-f]{1,4}';
const IPV6 = [
  `(${H16}:){7}${H16}`,
  `(${H16}:){1,7}:`,
  `(${H16}:){1,6}:${H16}`,
  `(${H16}:){1,5}(:${H16}){1,2}`,
  `(${H16}:){1,4}(:${H16}){1,3}`,
  `(${H16}:){1,3}(:${H16}){1,4}`,
  `(${H16}:){1,2}(:${H16}){1,5}`,
  `${H16}:(:${H16}){1,6}`,
  `:(:${H16}){1,7}`,
  '::',
].join('|');
const LOCAL_ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
const EMAIL = `${LOCAL_ATOM}(\\.${LOCAL_ATOM})*@${LABEL}(\\.${LABEL}){1,3}`;
const PCHAR = "([A-Za-z0-9\\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})";
const QUERY = `(\\?(${PCHAR}|[/?])*)?(#(${PCHAR}|[/?])*)?`;
const SCHEME = '[A-Za-z][A-Za-z0-9+.\\-]*';
const URI = `${SCHEME}:(//(${HOSTNAME}|${IPV4})(:\\d{1,5})?(/${PCHAR}*)*|(${PCHAR})+(/${PCHAR}*)*|/(${PCHAR}+(/${PCHAR}*)*)?)?${QUERY}`;
const UUID = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';
// OpenAPI's `byte` (Kubernetes schemas use it for secret data): base64 with padding, as ajv-formats checks it
const B64 = '[A-Za-z0-9+/]';
const BYTE = `(${B64}{4})*(${B64}{2}==|${B64}{3}=)?`;

const FORMATS: Record<string, string> = {
  date: DATE,
  time: TIME,
  'date-time': `${DATE}[Tt]${TIME}`,
  duration: `P(${DUR_DATE}(T${DUR_TIME})?|T${DUR_TIME}|\\d+W)`,
  email: EMAIL,
  hostname: HOSTNAME,
  ipv4: IPV4,
  ipv6: IPV6,
  uuid: UUID,
  uri: URI,
  byte: BYTE,
};

export function formatRegex(format: string): RNode | null {
  const src = FORMATS[format];
  return src === undefined ? null : parseRegex(src, { search: false });
}

export const SUPPORTED_FORMATS = Object.keys(FORMATS);
