// The JSON-extraction workload the performance goals are stated on (`--dataset cpe`): vulnerability reports in
// English and Chinese, generated from templates over a product catalog, each behind the same instruction prefix
// (so prefix caching matters, as in production), answered as `{"cpe": [...]}` under a JSON schema.
import type { BenchTokenizer } from '../bench-tokenizer.js';
import type { SeededRandom } from '../rng.js';
import { COMPONENTS_EN, COMPONENTS_ZH, CPE_CATALOG, VULNERABILITY_KINDS, type CatalogProduct } from './cpe-catalog.js';
import type { SampleRequest } from './sample-request.js';

export const CPE_SCHEMA = {
  type: 'object',
  properties: { cpe: { type: 'array', items: { type: 'string' } } },
  required: ['cpe'],
} as const;

export const CPE_INSTRUCTION_PREFIX = [
  'You are a vulnerability analyst. Read the vulnerability report below and list every affected product as a',
  'CPE 2.3 formatted string: cpe:2.3:part:vendor:product:version:update:edition:language:sw_edition:target_sw:target_hw:other.',
  'Rules:',
  '1. part is "a" for applications, "o" for operating systems and firmware, "h" for hardware devices.',
  '2. vendor and product are lowercase, with spaces replaced by underscores, as in the NVD CPE dictionary',
  '   (for example apache:http_server, microsoft:exchange_server, linux:linux_kernel).',
  '3. Emit one string per affected version that the report names explicitly; when the report gives a range',
  '   ("before 2.4.58", "through 17.9.4", "及之前版本"), emit the named boundary version and put * in the other fields.',
  '4. Use * for every field the report does not state; never invent versions, vendors or products.',
  '5. Reports may be written in English or Chinese (中文); product names in Chinese must be mapped to the vendor\'s',
  '   English CPE names (for example 用友 → yonyou, 泛微 → weaver, 华为 → huawei, 海康威视 → hikvision).',
  '6. If nothing can be identified, return an empty list.',
  'Answer with a single JSON object of the form {"cpe": ["cpe:2.3:...", ...]} and nothing else.',
  '',
  'Report:',
  '',
].join('\n');

export interface CpeDatasetOptions {
  numPrompts: number;
  outputLen: number;
}

export function sampleCpeDataset(opts: CpeDatasetOptions, tok: BenchTokenizer, rng: SeededRandom): SampleRequest[] {
  if (!(opts.outputLen >= 1)) throw new RangeError(`--output-len must be >= 1 for the cpe dataset, got ${opts.outputLen}`);
  const requests: SampleRequest[] = [];
  for (let i = 0; i < opts.numPrompts; i++) {
    const report = rng.next() < 0.5 ? englishReport(rng) : chineseReport(rng);
    const prompt = CPE_INSTRUCTION_PREFIX + report;
    requests.push({ prompt, promptLen: tok.encode(prompt).length, expectedOutputLen: opts.outputLen });
  }
  return requests;
}

/** the `{cpe: string[]}` answer a report about these products should get (used by tests and for spot checks) */
export function cpeString(p: CatalogProduct, version: string): string {
  const v = version.replace(/ /g, '_').toLowerCase();
  return `cpe:2.3:${p.part}:${p.vendor}:${p.product}:${v}:*:*:*:*:*:*:*`;
}

function article(word: string): string {
  return /^[aeiou]/i.test(word) ? 'An' : 'A';
}

function cveId(rng: SeededRandom): string {
  return `CVE-${rng.int(2021, 2026)}-${rng.int(1000, 52000)}`;
}

function affected(rng: SeededRandom): Array<{ p: CatalogProduct; version: string; upper: string | null }> {
  const count = rng.next() < 0.7 ? 1 : rng.int(2, 4);
  const picked = new Set<CatalogProduct>();
  while (picked.size < count) picked.add(rng.pick(CPE_CATALOG));
  return [...picked].map((p) => {
    const i = rng.int(0, p.versions.length);
    const upper = i + 1 < p.versions.length && rng.next() < 0.4 ? p.versions[rng.int(i + 1, p.versions.length)]! : null;
    return { p, version: p.versions[i]!, upper };
  });
}

function englishReport(rng: SeededRandom): string {
  const kind = rng.pick(VULNERABILITY_KINDS);
  const items = affected(rng);
  const component = rng.pick(COMPONENTS_EN);
  const score = (rng.int(40, 101) / 10).toFixed(1);
  const list = items
    .map(({ p, version, upper }) =>
      upper ? `${p.nameEn} versions ${version} through ${upper}` : rng.next() < 0.5 ? `${p.nameEn} ${version}` : `${p.nameEn} before ${version}`,
    )
    .join(rng.next() < 0.5 ? ', and ' : '; ');
  const templates = [
    () =>
      `${cveId(rng)}: ${article(kind.en)} ${kind.en} vulnerability in ${component} of ${list} allows a remote, unauthenticated attacker to ${kind.impactEn}. ` +
      `The issue is caused by insufficient validation of user-supplied input. CVSS v3.1 base score: ${score}.`,
    () =>
      `Security advisory ${cveId(rng)}\nSeverity: ${Number(score) >= 9 ? 'Critical' : Number(score) >= 7 ? 'High' : 'Medium'} (CVSS ${score})\n` +
      `Affected products: ${list}.\nDescription: ${component} does not properly sanitize requests, which results in ${kind.en}. ` +
      `A successful exploit could allow the attacker to ${kind.impactEn}.\nRemediation: upgrade to the latest fixed release.`,
    () =>
      `Our threat intelligence team observed active exploitation of ${cveId(rng)} in the wild. Attackers send crafted requests to ${component} ` +
      `of ${list}, leading to ${kind.en}; in the observed incidents they were able to ${kind.impactEn}. Administrators should patch immediately ` +
      `and review access logs for suspicious requests.`,
  ];
  return rng.pick(templates)();
}

function chineseReport(rng: SeededRandom): string {
  const kind = rng.pick(VULNERABILITY_KINDS);
  const items = affected(rng);
  const component = rng.pick(COMPONENTS_ZH);
  const level = rng.pick(['高危', '严重', '中危']);
  const list = items
    .map(({ p, version, upper }) => (upper ? `${p.nameZh} ${version} 至 ${upper} 版本` : rng.next() < 0.5 ? `${p.nameZh} ${version}` : `${p.nameZh} ${version} 及之前版本`))
    .join('、');
  const cnvd = `CNVD-${rng.int(2021, 2026)}-${rng.int(10000, 99999)}`;
  const templates = [
    () =>
      `漏洞编号：${cnvd}（${cveId(rng)}）\n危害等级：${level}\n影响产品：${list}\n漏洞描述：${component}存在${kind.zh}漏洞，` +
      `未经身份验证的远程攻击者可利用该漏洞${kind.impactZh}。\n处置建议：厂商已发布补丁，请受影响用户尽快升级。`,
    () =>
      `近日，监测到${list}中的${component}存在${kind.zh}漏洞（${cveId(rng)}）。该漏洞源于对用户输入缺乏有效校验，` +
      `攻击者可构造恶意请求${kind.impactZh}。目前漏洞细节和利用代码已公开，风险等级为${level}，建议相关单位及时排查并修复。`,
    () =>
      `【安全通告】${kind.zh}漏洞 ${cveId(rng)}\n受影响版本：${list}\n${component}在处理特定请求时存在缺陷，` +
      `成功利用后攻击者可以${kind.impactZh}。请参考厂商安全公告进行升级。`,
  ];
  return rng.pick(templates)();
}
