// Which shape of message `content` a template expects, found the way vLLM does (--chat-template-content-format
// auto): "openai" when the template loops over a message's content (`{% for part in message['content'] %}`), so
// content is handed over as a list of {type: "text", text} parts; otherwise "string".
import { parse, tokenize } from '@huggingface/jinja';

export type ContentFormat = 'string' | 'openai';

type Node = { type: string; [key: string]: unknown };

export function detectContentFormat(template: string): ContentFormat {
  const nodes = allNodes(parse(tokenize(template, { lstrip_blocks: true, trim_blocks: true })) as unknown as Node);
  const loops = nodes.filter((n) => n.type === 'For');
  const messagesVars = aliases(nodes, 'messages');
  const messageVars = loops
    .filter((f) => messagesVars.some((v) => accesses(f.iterable as Node, v)))
    .flatMap((f) => loopVarName(f));
  const loopsOverContent = loops.some((f) => messageVars.some((v) => accesses(f.iterable as Node, v, 'content')));
  return loopsOverContent ? 'openai' : 'string';
}

/** `name` and every variable set from it (`{% set loop_messages = messages[1:] %}`), transitively */
function aliases(nodes: Node[], name: string): string[] {
  const found = [name];
  for (let i = 0; i < found.length; i++) {
    for (const n of nodes) {
      if (n.type !== 'Set' || !n.value) continue;
      const target = n.assignee as Node;
      if (target.type === 'Identifier' && accesses(n.value as Node, found[i]!) && !found.includes(target.value as string)) {
        found.push(target.value as string);
      }
    }
  }
  return found;
}

/** `v`, or `v.key` / `v['key']` when key is given, possibly sliced, filtered or tested */
function accesses(node: Node, v: string, key?: string): boolean {
  if (node.type === 'FilterExpression' || node.type === 'TestExpression') return accesses(node.operand as Node, v, key);
  if (node.type === 'MemberExpression' && (node.property as Node).type === 'SliceExpression') {
    return accesses(node.object as Node, v, key);
  }
  if (key === undefined) return node.type === 'Identifier' && node.value === v;
  if (node.type !== 'MemberExpression') return false;
  const obj = node.object as Node;
  const prop = node.property as Node;
  const named = node.computed ? prop.type === 'StringLiteral' && prop.value === key : prop.type === 'Identifier' && prop.value === key;
  return named && obj.type === 'Identifier' && obj.value === v;
}

function loopVarName(loop: Node): string[] {
  const v = loop.loopvar as Node;
  return v.type === 'Identifier' ? [v.value as string] : [];
}

function allNodes(root: Node): Node[] {
  const out: Node[] = [];
  const visit = (x: unknown): void => {
    if (Array.isArray(x)) return x.forEach(visit);
    if (x instanceof Map) return [...x].forEach(([k, v]) => { visit(k); visit(v); });
    if (x === null || typeof x !== 'object' || typeof (x as Node).type !== 'string') return;
    out.push(x as Node);
    for (const value of Object.values(x)) if (value !== null && typeof value === 'object') visit(value);
  };
  visit(root);
  return out;
}
