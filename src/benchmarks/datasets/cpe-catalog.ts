// Products the cpe workload writes vulnerability reports about: CPE 2.3 vendor/product names, display names in
// English and Chinese, and realistic version strings. Mixes international and Chinese vendors, as real feeds do.

export interface CatalogProduct {
  part: 'a' | 'o' | 'h';
  vendor: string;
  product: string;
  nameEn: string;
  nameZh: string;
  versions: string[];
}

export const CPE_CATALOG: CatalogProduct[] = [
  { part: 'a', vendor: 'apache', product: 'http_server', nameEn: 'Apache HTTP Server', nameZh: 'Apache HTTP Server', versions: ['2.4.49', '2.4.50', '2.4.54', '2.4.57', '2.4.58'] },
  { part: 'a', vendor: 'apache', product: 'tomcat', nameEn: 'Apache Tomcat', nameZh: 'Apache Tomcat', versions: ['9.0.80', '9.0.98', '10.1.15', '10.1.34', '11.0.2'] },
  { part: 'a', vendor: 'apache', product: 'struts', nameEn: 'Apache Struts', nameZh: 'Apache Struts', versions: ['2.5.30', '2.5.32', '6.3.0', '6.3.0.1'] },
  { part: 'a', vendor: 'apache', product: 'activemq', nameEn: 'Apache ActiveMQ', nameZh: 'Apache ActiveMQ', versions: ['5.15.15', '5.16.6', '5.17.5', '5.18.2'] },
  { part: 'a', vendor: 'f5', product: 'nginx', nameEn: 'NGINX', nameZh: 'Nginx', versions: ['1.22.1', '1.24.0', '1.25.3', '1.27.0'] },
  { part: 'a', vendor: 'openssl', product: 'openssl', nameEn: 'OpenSSL', nameZh: 'OpenSSL', versions: ['1.1.1w', '3.0.12', '3.1.4', '3.2.0'] },
  { part: 'a', vendor: 'atlassian', product: 'confluence_data_center', nameEn: 'Atlassian Confluence Data Center', nameZh: 'Atlassian Confluence 数据中心版', versions: ['8.0.4', '8.3.2', '8.5.3', '8.6.1'] },
  { part: 'a', vendor: 'jenkins', product: 'jenkins', nameEn: 'Jenkins', nameZh: 'Jenkins', versions: ['2.426.2', '2.441', '2.442', '2.452.1'] },
  { part: 'a', vendor: 'gitlab', product: 'gitlab', nameEn: 'GitLab Community Edition', nameZh: 'GitLab 社区版', versions: ['16.1.5', '16.5.6', '16.7.2', '16.8.1'] },
  { part: 'a', vendor: 'oracle', product: 'weblogic_server', nameEn: 'Oracle WebLogic Server', nameZh: 'Oracle WebLogic Server', versions: ['12.2.1.4.0', '14.1.1.0.0'] },
  { part: 'a', vendor: 'vmware', product: 'vcenter_server', nameEn: 'VMware vCenter Server', nameZh: 'VMware vCenter Server', versions: ['7.0', '7.0 U3', '8.0', '8.0 U2'] },
  { part: 'a', vendor: 'microsoft', product: 'exchange_server', nameEn: 'Microsoft Exchange Server 2019', nameZh: 'Microsoft Exchange Server 2019', versions: ['cumulative_update_12', 'cumulative_update_13', 'cumulative_update_14'] },
  { part: 'a', vendor: 'google', product: 'chrome', nameEn: 'Google Chrome', nameZh: '谷歌 Chrome 浏览器', versions: ['120.0.6099.109', '121.0.6167.85', '122.0.6261.94', '124.0.6367.60'] },
  { part: 'a', vendor: 'mozilla', product: 'firefox', nameEn: 'Mozilla Firefox', nameZh: 'Mozilla Firefox 浏览器', versions: ['115.6.0', '121.0', '122.0.1', '124.0'] },
  { part: 'a', vendor: 'adobe', product: 'acrobat_reader_dc', nameEn: 'Adobe Acrobat Reader DC', nameZh: 'Adobe Acrobat Reader DC', versions: ['23.006.20360', '23.008.20458', '24.001.20604'] },
  { part: 'a', vendor: 'wordpress', product: 'wordpress', nameEn: 'WordPress', nameZh: 'WordPress', versions: ['6.3.1', '6.4.2', '6.4.3', '6.5'] },
  { part: 'a', vendor: 'yonyou', product: 'nc', nameEn: 'Yonyou NC', nameZh: '用友 NC', versions: ['6.5', 'NC Cloud 2105', 'NC Cloud 2111'] },
  { part: 'a', vendor: 'weaver', product: 'e-cology', nameEn: 'Weaver e-cology', nameZh: '泛微 e-cology', versions: ['9.0', '9.0_20230906', '10.0'] },
  { part: 'a', vendor: 'tongda2000', product: 'office_anywhere', nameEn: 'Tongda OA', nameZh: '通达OA', versions: ['11.6', '11.9', '11.10', '2017'] },
  { part: 'a', vendor: 'seeyon', product: 'a8', nameEn: 'Seeyon A8', nameZh: '致远 A8 协同管理软件', versions: ['V7.0', 'V7.1 SP1', 'V8.0'] },
  { part: 'a', vendor: 'kingdee', product: 'eas', nameEn: 'Kingdee EAS', nameZh: '金蝶 EAS', versions: ['8.2', '8.5', '8.8'] },
  { part: 'a', vendor: 'jeecg', product: 'jeecg-boot', nameEn: 'JeecgBoot', nameZh: 'JeecgBoot', versions: ['3.4.3', '3.5.0', '3.6.1'] },
  { part: 'a', vendor: 'alibaba', product: 'nacos', nameEn: 'Alibaba Nacos', nameZh: '阿里巴巴 Nacos', versions: ['1.4.1', '2.0.3', '2.2.3'] },
  { part: 'a', vendor: 'alibaba', product: 'fastjson', nameEn: 'Alibaba Fastjson', nameZh: '阿里巴巴 Fastjson', versions: ['1.2.24', '1.2.47', '1.2.80'] },
  { part: 'o', vendor: 'linux', product: 'linux_kernel', nameEn: 'Linux kernel', nameZh: 'Linux 内核', versions: ['5.15.140', '6.1.68', '6.6.7', '6.7'] },
  { part: 'o', vendor: 'fortinet', product: 'fortios', nameEn: 'Fortinet FortiOS', nameZh: '飞塔 FortiOS', versions: ['7.0.12', '7.2.5', '7.4.1', '7.4.2'] },
  { part: 'o', vendor: 'cisco', product: 'ios_xe', nameEn: 'Cisco IOS XE Software', nameZh: '思科 IOS XE 软件', versions: ['17.3.1', '17.6.5', '17.9.4'] },
  { part: 'a', vendor: 'ivanti', product: 'connect_secure', nameEn: 'Ivanti Connect Secure', nameZh: 'Ivanti Connect Secure', versions: ['9.1R14', '9.1R18', '22.4R2.1', '22.6R2'] },
  { part: 'o', vendor: 'paloaltonetworks', product: 'pan-os', nameEn: 'Palo Alto Networks PAN-OS', nameZh: 'Palo Alto Networks PAN-OS', versions: ['10.2.9', '11.0.4', '11.1.2'] },
  { part: 'o', vendor: 'huawei', product: 'harmonyos', nameEn: 'Huawei HarmonyOS', nameZh: '华为鸿蒙操作系统 HarmonyOS', versions: ['2.0', '3.0.0', '4.0.0'] },
  { part: 'o', vendor: 'apple', product: 'iphone_os', nameEn: 'Apple iOS', nameZh: '苹果 iOS', versions: ['16.7.4', '17.2', '17.3.1'] },
  { part: 'o', vendor: 'microsoft', product: 'windows_server_2022', nameEn: 'Microsoft Windows Server 2022', nameZh: 'Microsoft Windows Server 2022', versions: ['10.0.20348.2227', '10.0.20348.2322'] },
  { part: 'h', vendor: 'hikvision', product: 'ds-2cd2142fwd-i', nameEn: 'Hikvision DS-2CD2142FWD-I camera', nameZh: '海康威视 DS-2CD2142FWD-I 网络摄像机', versions: ['-'] },
  { part: 'o', vendor: 'tp-link', product: 'archer_ax21_firmware', nameEn: 'TP-Link Archer AX21 firmware', nameZh: 'TP-Link Archer AX21 路由器固件', versions: ['1.1.1', '1.1.4'] },
  { part: 'o', vendor: 'dlink', product: 'dir-846_firmware', nameEn: 'D-Link DIR-846 firmware', nameZh: 'D-Link DIR-846 路由器固件', versions: ['100A53DBR-Retail', '100A35'] },
  { part: 'o', vendor: 'zyxel', product: 'usg_flex_100_firmware', nameEn: 'Zyxel USG FLEX 100 firmware', nameZh: '合勤 Zyxel USG FLEX 100 防火墙固件', versions: ['5.00', '5.21', '5.35'] },
];

export interface VulnerabilityKind {
  en: string;
  zh: string;
  /** what an attacker achieves, English and Chinese */
  impactEn: string;
  impactZh: string;
}

export const VULNERABILITY_KINDS: VulnerabilityKind[] = [
  { en: 'SQL injection', zh: 'SQL 注入', impactEn: 'read or modify arbitrary database records', impactZh: '读取或篡改数据库中的任意数据' },
  { en: 'remote code execution', zh: '远程代码执行', impactEn: 'execute arbitrary commands with the privileges of the service account', impactZh: '以服务账户权限执行任意系统命令' },
  { en: 'path traversal', zh: '路径遍历', impactEn: 'read arbitrary files outside the web root, including configuration files with credentials', impactZh: '读取 Web 根目录之外的任意文件，包括含有凭据的配置文件' },
  { en: 'cross-site scripting (XSS)', zh: '跨站脚本（XSS）', impactEn: 'inject script into pages viewed by administrators and hijack their sessions', impactZh: '向管理员浏览的页面注入恶意脚本并劫持其会话' },
  { en: 'server-side request forgery (SSRF)', zh: '服务端请求伪造（SSRF）', impactEn: 'make the server send requests to internal services', impactZh: '使服务器向内网服务发起任意请求' },
  { en: 'insecure deserialization', zh: '不安全的反序列化', impactEn: 'achieve code execution by sending a crafted serialized object', impactZh: '通过发送特制的序列化对象实现代码执行' },
  { en: 'authentication bypass', zh: '身份验证绕过', impactEn: 'access administrative functions without valid credentials', impactZh: '在没有有效凭据的情况下访问管理功能' },
  { en: 'heap-based buffer overflow', zh: '堆缓冲区溢出', impactEn: 'crash the process or potentially execute code', impactZh: '导致进程崩溃，并可能执行任意代码' },
  { en: 'use-after-free', zh: '释放后重用', impactEn: 'corrupt memory and potentially execute code via a crafted page', impactZh: '通过特制页面破坏内存并可能执行任意代码' },
  { en: 'arbitrary file upload', zh: '任意文件上传', impactEn: 'upload a web shell and take over the server', impactZh: '上传 WebShell 并完全控制服务器' },
];

export const COMPONENTS_EN = ['the login endpoint', 'the file upload handler', 'the REST API', 'the administrative console', 'the template engine', 'the HTTP/2 request parser', 'the import wizard', 'the report export module'];
export const COMPONENTS_ZH = ['登录接口', '文件上传处理程序', 'REST API 接口', '后台管理控制台', '模板引擎', 'HTTP/2 请求解析模块', '数据导入向导', '报表导出模块'];
