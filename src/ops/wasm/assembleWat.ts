/**
 * A small WebAssembly text assembler for the kernels' own WAT (gemm.wat.ts, convWat.ts, step.wat.ts,
 * elementwiseWasm.ts): WAT in, the binary module out, synchronously and in about a millisecond, so
 * the kernels need neither wabt (a 700 kB emscripten module that takes 100–300 ms to load and warm
 * up) nor node:fs at run time — the same code assembles them in Node, a browser or a Web Worker.
 *
 * It takes the subset those generators write, and rejects anything else with an error naming the
 * token:
 *   module fields  (import "m" "n" (memory min max? shared?)), (memory (export "n")? min max? shared?),
 *                  (func $name? (export "n")? (param $p t)* (result t)* (local $l t)* instr*)
 *   instructions   folded `(op immediates… operands…)` or plain `op immediates…`; block, loop and
 *                  (if cond (then …) (else …)) with labels; the opcodes of wasmOpcodes.ts
 *   comments       `;; …` to the end of the line, `(; … ;)`
 * and writes what wabt writes for it (test/ops/assembleWat.test.ts checks the bytes against wabt's
 * on every generated kernel): sections type, import, function, memory, export, code; one function
 * type per distinct signature, in order of first use; consecutive locals of one type as one entry;
 * natural alignment on memory instructions; minimal LEB128 integers.
 */

import { OPS, uleb, VALTYPES, type Op, type ValType } from './wasmOpcodes.js';

/** An error in the WAT, naming the token and its line. */
export class WatError extends Error {
  constructor(message: string, line: number) {
    super(`assembleWat: line ${line}: ${message}`);
    this.name = 'WatError';
  }
}

// ---------------------------------------------------------------------------------------------
// Reading: tokens, then a tree of lists

interface Atom {
  readonly kind: 'atom' | 'string';
  readonly text: string;
  readonly line: number;
}
interface List {
  readonly kind: 'list';
  readonly items: Node[];
  readonly line: number;
}
type Node = Atom | List;

/** One token a match: whitespace, `;;` and `(; ;)` comments, parentheses, strings, atoms. */
const TOKEN = /(\s+)|(;;[^\n]*)|(\(;[\s\S]*?;\))|(\()|(\))|"([^"]*)"|([^\s()"]+)|([\s\S])/gy;

function parse(text: string): List {
  const root: List = { kind: 'list', items: [], line: 1 };
  const stack: List[] = [root];
  // line numbers are counted as the tokens pass (newlines inside whitespace and block comments)
  let line = 1;
  const count = (s: string): void => {
    for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) line++;
  };
  TOKEN.lastIndex = 0;
  for (let m = TOKEN.exec(text); m !== null; m = TOKEN.exec(text)) {
    const [, space, , block, open, close, str, atom, other] = m;
    const top = stack[stack.length - 1];
    if (space !== undefined) count(space);
    else if (block !== undefined) count(block);
    else if (open !== undefined) {
      const list: List = { kind: 'list', items: [], line };
      top.items.push(list);
      stack.push(list);
    } else if (close !== undefined) {
      if (stack.length === 1) throw new WatError('unbalanced )', line);
      stack.pop();
    } else if (str !== undefined) top.items.push({ kind: 'string', text: str, line });
    else if (atom !== undefined) top.items.push({ kind: 'atom', text: atom, line });
    else if (other !== undefined) throw new WatError(other === '"' ? 'unclosed string' : other === '(' ? 'unclosed block comment' : `unexpected ${other}`, line);
  }
  if (stack.length !== 1) throw new WatError('unbalanced (', line);
  return root;
}

const isList = (n: Node | undefined): n is List => n !== undefined && n.kind === 'list';
const head = (n: Node): string => (isList(n) && n.items[0]?.kind === 'atom' ? n.items[0].text : '');

// ---------------------------------------------------------------------------------------------
// Writing: integers, names, sections

function sleb(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const utf8 = new TextEncoder();
const name = (s: string): number[] => {
  const bytes = utf8.encode(s);
  return [...uleb(bytes.length), ...bytes];
};
/** Byte arrays joined into one (without spreading large arrays into argument lists). */
function concat(parts: readonly (readonly number[])[]): number[] {
  const out: number[] = [];
  for (const part of parts) for (let i = 0; i < part.length; i++) out.push(part[i]);
  return out;
}
const section = (id: number, body: number[]): number[] => (body.length === 0 ? [] : concat([[id], uleb(body.length), body]));
const vector = (items: number[][]): number[] => concat([uleb(items.length), ...items]);

function floatBytes(text: string, bits: 32 | 64, line: number): number[] {
  const specials: Record<string, number> = { inf: Infinity, '+inf': Infinity, '-inf': -Infinity, nan: NaN };
  const value = text in specials ? specials[text] : Number(text);
  if (Number.isNaN(value) && text !== 'nan') throw new WatError(`not a number: ${text}`, line);
  const buf = new DataView(new ArrayBuffer(bits / 8));
  if (bits === 32) buf.setFloat32(0, value, true);
  else buf.setFloat64(0, value, true);
  return Array.from(new Uint8Array(buf.buffer));
}

function integer(a: Atom | undefined, line: number): number {
  if (a === undefined || a.kind !== 'atom') throw new WatError('expected an integer', line);
  const value = Number(a.text.replaceAll('_', ''));
  if (!Number.isInteger(value)) throw new WatError(`not an integer: ${a.text}`, a.line);
  return value;
}

function valType(a: Node | undefined, line: number): ValType {
  if (a === undefined || a.kind !== 'atom' || !(a.text in VALTYPES)) throw new WatError(`expected a value type, got ${a?.kind === 'atom' ? a.text : 'a list'}`, line);
  return a.text as ValType;
}

// ---------------------------------------------------------------------------------------------
// Functions

interface Func {
  readonly node: List;
  readonly exportName: string | null;
  readonly params: ValType[];
  readonly results: ValType[];
  readonly locals: ValType[];
  /** $name → local index (params first). */
  readonly localIndex: Map<string, number>;
  /** Index of the first body item. */
  readonly bodyAt: number;
}

function readFunc(node: List): { func: Func; funcName: string | null } {
  const items = node.items;
  let k = 1;
  let funcName: string | null = null;
  let exportName: string | null = null;
  const params: ValType[] = [];
  const results: ValType[] = [];
  const locals: ValType[] = [];
  const localIndex = new Map<string, number>();
  const first = items[k];
  if (first?.kind === 'atom' && first.text.startsWith('$')) {
    funcName = first.text;
    k++;
  }
  const declare = (list: List, into: ValType[]): void => {
    const named = list.items[1];
    if (named?.kind === 'atom' && named.text.startsWith('$')) {
      localIndex.set(named.text, params.length + locals.length);
      into.push(valType(list.items[2], list.line));
      if (list.items.length > 3) throw new WatError('a named param or local declares one type', list.line);
      return;
    }
    for (const t of list.items.slice(1)) {
      localIndex.set(`#${params.length + locals.length}`, params.length + locals.length);
      into.push(valType(t, list.line));
    }
  };
  for (; k < items.length; k++) {
    const item = items[k];
    const h = head(item);
    if (!isList(item) || !['export', 'param', 'result', 'local'].includes(h)) break;
    if (h === 'export') {
      const n = item.items[1];
      if (n?.kind !== 'string') throw new WatError('export needs a name string', item.line);
      exportName = n.text;
    } else if (h === 'param') {
      if (locals.length > 0 || results.length > 0) throw new WatError('param after result or local', item.line);
      declare(item, params);
    } else if (h === 'result') {
      for (const t of item.items.slice(1)) results.push(valType(t, item.line));
    } else {
      declare(item, locals);
    }
  }
  return { func: { node, exportName, params, results, locals, localIndex, bodyAt: k }, funcName };
}

/** The code of one function body (locals and instructions), without its size prefix. */
function encodeBody(f: Func, funcIndex: ReadonlyMap<string, number>): number[] {
  const out: number[] = [];
  const runs: [number, ValType][] = [];
  for (const t of f.locals) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last[1] === t) last[0]++;
    else runs.push([1, t]);
  }
  out.push(...uleb(runs.length));
  for (const [count, t] of runs) out.push(...uleb(count), VALTYPES[t]);
  const labels: (string | null)[] = [];

  const localOf = (a: Node | undefined, line: number): number => {
    if (a === undefined || a.kind !== 'atom') throw new WatError('expected a local', line);
    const index = a.text.startsWith('$') ? f.localIndex.get(a.text) : Number(a.text);
    if (index === undefined || !Number.isInteger(index)) throw new WatError(`unknown local ${a.text}`, a.line);
    return index;
  };
  const labelOf = (a: Node | undefined, line: number): number => {
    if (a === undefined || a.kind !== 'atom') throw new WatError('expected a label', line);
    if (!a.text.startsWith('$')) return Number(a.text);
    for (let d = labels.length - 1; d >= 0; d--) if (labels[d] === a.text) return labels.length - 1 - d;
    throw new WatError(`unknown label ${a.text}`, a.line);
  };

  /** Write the immediates of `op` from items[k…] into `dst`; returns the index after them. */
  function immediates(op: Op, items: readonly Node[], k: number, line: number, dst: number[]): number {
    const atom = (): Atom => {
      const a = items[k];
      if (a === undefined || a.kind !== 'atom') throw new WatError('missing immediate', line);
      k++;
      return a;
    };
    switch (op.imm) {
      case 'none':
        return k;
      case 'local':
        dst.push(...uleb(localOf(atom(), line)));
        return k;
      case 'label':
        dst.push(...uleb(labelOf(atom(), line)));
        return k;
      case 'func': {
        const a = atom();
        const index = a.text.startsWith('$') ? funcIndex.get(a.text) : Number(a.text);
        if (index === undefined) throw new WatError(`unknown function ${a.text}`, a.line);
        dst.push(...uleb(index));
        return k;
      }
      case 'i32':
        dst.push(...sleb(integer(atom(), line)));
        return k;
      case 'f32':
        dst.push(...floatBytes(atom().text, 32, line));
        return k;
      case 'f64':
        dst.push(...floatBytes(atom().text, 64, line));
        return k;
      case 'lane':
        dst.push(integer(atom(), line));
        return k;
      case 'shuffle':
        for (let l = 0; l < 16; l++) dst.push(integer(atom(), line));
        return k;
      case 'v128': {
        const shape = atom().text;
        if (shape !== 'i32x4') throw new WatError(`v128.const ${shape}: only i32x4 is supported`, line);
        const view = new DataView(new ArrayBuffer(16));
        for (let l = 0; l < 4; l++) view.setInt32(4 * l, integer(atom(), line) | 0, true);
        dst.push(...new Uint8Array(view.buffer));
        return k;
      }
      case 'mem': {
        let offset = 0;
        let align = op.align ?? 0;
        while (items[k]?.kind === 'atom' && /^(offset|align)=/.test((items[k] as Atom).text)) {
          const [key, value] = (items[k] as Atom).text.split('=');
          if (key === 'offset') offset = Number(value);
          else align = Math.log2(Number(value));
          k++;
        }
        dst.push(...uleb(align), ...uleb(offset));
        return k;
      }
    }
  }

  function blockType(items: readonly Node[], k: number): number {
    const r = items[k];
    if (isList(r) && head(r) === 'result') throw new WatError('blocks with results are not supported', r.line);
    out.push(0x40);
    return k;
  }

  function structured(n: List): void {
    const h = head(n);
    let k = 1;
    const labelAtom = n.items[k];
    const label = labelAtom?.kind === 'atom' && labelAtom.text.startsWith('$') ? labelAtom.text : null;
    if (label !== null) k++;
    if (h === 'block' || h === 'loop') {
      out.push(h === 'block' ? 0x02 : 0x03);
      k = blockType(n.items, k);
      labels.push(label);
      sequence(n.items, k);
      labels.pop();
      out.push(0x0b);
      return;
    }
    // (if label? cond* (then …) (else …)?)
    const rest = n.items.slice(k);
    const thenAt = rest.findIndex((x) => head(x) === 'then');
    if (thenAt < 0) throw new WatError('if without then', n.line);
    for (const c of rest.slice(0, thenAt)) instruction(c);
    out.push(0x04, 0x40);
    labels.push(label);
    const thenList = rest[thenAt] as List;
    sequence(thenList.items, 1);
    const elseList = rest[thenAt + 1];
    if (elseList !== undefined) {
      if (head(elseList) !== 'else') throw new WatError('expected else', elseList.line);
      out.push(0x05);
      sequence((elseList as List).items, 1);
    }
    labels.pop();
    out.push(0x0b);
  }

  /** One folded instruction (a list). */
  function instruction(n: Node): void {
    if (!isList(n)) throw new WatError(`expected a folded instruction, got ${n.text}`, n.line);
    const h = head(n);
    if (h === 'block' || h === 'loop' || h === 'if') {
      structured(n);
      return;
    }
    const op = OPS[h];
    if (op === undefined) throw new WatError(`unknown instruction ${h || '(list)'}`, n.line);
    // operands first, then the op and its immediates
    const imm: number[] = [];
    const k = immediates(op, n.items, 1, n.line, imm);
    for (let i = k; i < n.items.length; i++) instruction(n.items[i]);
    for (const b of op.code) out.push(b);
    for (const b of imm) out.push(b);
  }

  /** A sequence of instructions, folded or plain, from items[k…]. */
  function sequence(items: readonly Node[], k: number): void {
    while (k < items.length) {
      const item = items[k];
      if (isList(item)) {
        instruction(item);
        k++;
        continue;
      }
      const op = OPS[item.text];
      if (op === undefined) throw new WatError(`unknown instruction ${item.text}`, item.line);
      for (const b of op.code) out.push(b);
      k = immediates(op, items, k + 1, item.line, out);
    }
  }

  sequence(f.node.items, f.bodyAt);
  out.push(0x0b);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The module

function limits(items: readonly Node[], k: number, line: number): number[] {
  const min = integer(items[k] as Atom, line);
  const next = items[k + 1];
  const max = next?.kind === 'atom' && next.text !== 'shared' ? integer(next, line) : null;
  const isShared = items.some((x) => x.kind === 'atom' && x.text === 'shared');
  if (isShared && max === null) throw new WatError('a shared memory needs a maximum', line);
  return [(max === null ? 0 : 1) | (isShared ? 2 : 0), ...uleb(min), ...(max === null ? [] : uleb(max))];
}

/**
 * Assemble WAT text (the subset described above) into a WebAssembly binary.
 *
 * @example const bytes = assembleWat('(module (func (export "f") (result i32) (i32.const 7)))'); new WebAssembly.Module(bytes);
 */
export function assembleWat(text: string): Uint8Array {
  const root = parse(text);
  const mod = root.items[0];
  if (root.items.length !== 1 || !isList(mod) || head(mod) !== 'module') throw new WatError('expected one (module …)', 1);
  const types: string[] = [];
  const typeBytes: number[][] = [];
  const imports: number[][] = [];
  const memories: number[][] = [];
  const exports: number[][] = [];
  const funcs: Func[] = [];
  const funcIndex = new Map<string, number>();
  const typeOf = (params: ValType[], results: ValType[]): number => {
    const key = `${params.join(',')}->${results.join(',')}`;
    let t = types.indexOf(key);
    if (t < 0) {
      t = types.length;
      types.push(key);
      typeBytes.push([0x60, ...vector(params.map((p) => [VALTYPES[p]])), ...vector(results.map((r) => [VALTYPES[r]]))]);
    }
    return t;
  };
  const funcTypes: number[] = [];
  for (const field of mod.items.slice(1)) {
    if (!isList(field)) throw new WatError(`unexpected ${field.text} in the module`, field.line);
    const h = head(field);
    if (h === 'import') {
      const [, m, n, desc] = field.items;
      if (m?.kind !== 'string' || n?.kind !== 'string' || !isList(desc) || head(desc) !== 'memory') throw new WatError('only memory imports are supported', field.line);
      imports.push([...name(m.text), ...name(n.text), 0x02, ...limits(desc.items, 1, desc.line)]);
    } else if (h === 'memory') {
      let k = 1;
      const e = field.items[k];
      if (isList(e) && head(e) === 'export') {
        const n = e.items[1];
        if (n?.kind !== 'string') throw new WatError('export needs a name string', e.line);
        exports.push([...name(n.text), 0x02, ...uleb(imports.length + memories.length)]);
        k++;
      }
      memories.push(limits(field.items, k, field.line));
    } else if (h === 'func') {
      const { func, funcName } = readFunc(field);
      if (funcName !== null) funcIndex.set(funcName, funcs.length);
      if (func.exportName !== null) exports.push([...name(func.exportName), 0x00, ...uleb(funcs.length)]);
      funcTypes.push(typeOf(func.params, func.results));
      funcs.push(func);
    } else {
      throw new WatError(`unsupported module field (${h}`, field.line);
    }
  }
  const code = funcs.map((f) => {
    const body = encodeBody(f, funcIndex);
    return concat([uleb(body.length), body]);
  });
  return Uint8Array.from(
    concat([
      [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
      section(1, typeBytes.length === 0 ? [] : vector(typeBytes)),
      section(2, imports.length === 0 ? [] : vector(imports)),
      section(3, funcTypes.length === 0 ? [] : vector(funcTypes.map((t) => uleb(t)))),
      section(5, memories.length === 0 ? [] : vector(memories)),
      section(7, exports.length === 0 ? [] : vector(exports)),
      section(10, code.length === 0 ? [] : vector(code)),
    ]),
  );
}
