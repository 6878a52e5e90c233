// vLLM's structured-output backend names, as its --guided-decoding-backend flag and the guided_decoding_backend request
// field take them: a name, optionally followed by backend options after a colon ("xgrammar:disable-any-whitespace" or
// "guidance:no-additional-properties,no-fallback"). Every name runs serval's own engine; the options map onto its
// settings.

export const GUIDED_DECODING_BACKENDS = ['auto', 'xgrammar', 'guidance', 'outlines', 'lm-format-enforcer'] as const;

/** vLLM's backend options; no-fallback changes nothing here (serval's engine never hands a request to another) */
export const GUIDED_BACKEND_OPTIONS = ['no-fallback', 'disable-any-whitespace', 'no-additional-properties'] as const;

export interface GuidedBackend {
  name: (typeof GUIDED_DECODING_BACKENDS)[number];
  /** disable-any-whitespace: JSON without whitespace between tokens */
  disableAnyWhitespace?: true;
  /** no-additional-properties: objects take only the properties their schema names */
  disableAdditionalProperties?: true;
}

/** parses `value`; throws an Error whose message names the unknown backend or option and lists the known ones */
export function parseGuidedBackend(value: string): GuidedBackend {
  const colon = value.indexOf(':');
  const name = (colon < 0 ? value : value.slice(0, colon)).trim();
  if (!(GUIDED_DECODING_BACKENDS as readonly string[]).includes(name)) {
    throw new Error(`backend '${name}' is unknown; use one of ${GUIDED_DECODING_BACKENDS.join(', ')} (all use serval's engine)`);
  }
  const out: GuidedBackend = { name: name as GuidedBackend['name'] };
  if (colon < 0) return out;
  for (const raw of value.slice(colon + 1).split(',')) {
    const option = raw.trim();
    if (option === 'disable-any-whitespace') out.disableAnyWhitespace = true;
    else if (option === 'no-additional-properties') out.disableAdditionalProperties = true;
    else if (option !== 'no-fallback') {
      throw new Error(`backend option '${option}' is unknown; use ${GUIDED_BACKEND_OPTIONS.join(', ')} (after a colon, comma-separated)`);
    }
  }
  return out;
}
