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
 *                  (if cond (then …) (else …)) with labels; the opcodes of OPS below
 *   comments       `;; …` to the end of the line, `(; … ;)`
 * and writes what wabt writes for it (test/ops/assembleWat.test.ts checks the bytes against wabt's
 * on every generated kernel): sections type, import, function, memory, export, code; one function
 * type per distinct signature, in order of first use; consecutive locals of one type as one entry;
 * natural alignment on memory instructions; minimal LEB128 integers.
 */

type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128';
const VALTYPES: Readonly<Record<ValType, number>> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };

/** How an instruction's immediates are written. */
type Imm = 'none' | 'local' | 'i32' | 'f32' | 'f64' | 'mem' | 'lane' | 'shuffle' | 'v128' | 'func' | 'label';

interface Op {
  readonly code: readonly number[];
  readonly imm: Imm;
  /** log2 of the natural alignment, for memory instructions. */
  readonly align?: number;
}

const simd = (code: number, imm: Imm = 'none', align?: number): Op => ({ code: [0xfd, ...uleb(code)], imm, align });
const plain = (code: number, imm: Imm = 'none', align?: number): Op => ({ code: [code], imm, align });

/** The opcodes the generated kernels use (core spec and the SIMD / relaxed-SIMD proposals). */
const OPS: Readonly<Record<string, Op>> = {
  br: plain(0x0c, 'label'),
  br_if: plain(0x0d, 'label'),
  call: plain(0x10, 'func'),
  drop: plain(0x1a),
  select: plain(0x1b),
  'local.get': plain(0x20, 'local'),
  'local.set': plain(0x21, 'local'),
  'local.tee': plain(0x22, 'local'),
  'i32.load': plain(0x28, 'mem', 2),
  'f32.load': plain(0x2a, 'mem', 2),
  'f64.load': plain(0x2b, 'mem', 3),
  'i32.store': plain(0x36, 'mem', 2),
  'f32.store': plain(0x38, 'mem', 2),
  'f64.store': plain(0x39, 'mem', 3),
  'i32.const': plain(0x41, 'i32'),
  'f32.const': plain(0x43, 'f32'),
  'f64.const': plain(0x44, 'f64'),
  'i32.eqz': plain(0x45),
  'i32.eq': plain(0x46),
  'i32.ne': plain(0x47),
  'i32.lt_s': plain(0x48),
  'i32.lt_u': plain(0x49),
  'i32.gt_s': plain(0x4a),
  'i32.gt_u': plain(0x4b),
  'i32.le_s': plain(0x4c),
  'i32.le_u': plain(0x4d),
  'i32.ge_s': plain(0x4e),
  'i32.ge_u': plain(0x4f),
  'i32.add': plain(0x6a),
  'i32.sub': plain(0x6b),
  'i32.mul': plain(0x6c),
  'i32.and': plain(0x71),
  'i32.or': plain(0x72),
  'i32.shl': plain(0x74),
  'i32.shr_s': plain(0x75),
  'i32.shr_u': plain(0x76),
  'f32.abs': plain(0x8b),
  'f32.add': plain(0x92),
  'f32.sub': plain(0x93),
  'f32.mul': plain(0x94),
  'f32.div': plain(0x95),
  'f32.min': plain(0x96),
  'f32.max': plain(0x97),
  'f64.sqrt': plain(0x9f),
  'f64.add': plain(0xa0),
  'f64.sub': plain(0xa1),
  'f64.mul': plain(0xa2),
  'f64.div': plain(0xa3),
  'f32.demote_f64': plain(0xb6),
  'f64.promote_f32': plain(0xbb),
  'f32.reinterpret_i32': plain(0xbe),
  'v128.load': simd(0x00, 'mem', 4),
  'v128.load32_splat': simd(0x09, 'mem', 2),
  'v128.store': simd(0x0b, 'mem', 4),
  'v128.const': simd(0x0c, 'v128'),
  'i8x16.shuffle': simd(0x0d, 'shuffle'),
  'i32x4.splat': simd(0x11),
  'f32x4.splat': simd(0x13),
  'f64x2.splat': simd(0x14),
  'i32x4.extract_lane': simd(0x1b, 'lane'),
  'f32x4.extract_lane': simd(0x1f, 'lane'),
  'f64x2.extract_lane': simd(0x21, 'lane'),
  'i32x4.eq': simd(0x37),
  'f32x4.eq': simd(0x41),
  'f32x4.ne': simd(0x42),
  'f32x4.lt': simd(0x43),
  'f32x4.gt': simd(0x44),
  'v128.not': simd(0x4d),
  'v128.and': simd(0x4e),
  'v128.andnot': simd(0x4f),
  'v128.or': simd(0x50),
  'v128.xor': simd(0x51),
  'v128.bitselect': simd(0x52),
  'v128.any_true': simd(0x53),
  'f32x4.demote_f64x2_zero': simd(0x5e),
  'f64x2.promote_low_f32x4': simd(0x5f),
  'i32x4.add': simd(0xae),
  'i32x4.sub': simd(0xb1),
  'i32x4.min_s': simd(0xb6),
  'i32x4.min_u': simd(0xb7),
  'i32x4.max_s': simd(0xb8),
  'i32x4.max_u': simd(0xb9),
  'f32x4.abs': simd(0xe0),
  'f32x4.add': simd(0xe4),
  'f32x4.sub': simd(0xe5),
  'f32x4.mul': simd(0xe6),
  'f32x4.div': simd(0xe7),
  'f32x4.min': simd(0xe8),
  'f32x4.max': simd(0xe9),
  'f64x2.sqrt': simd(0xef),
  'f64x2.add': simd(0xf0),
  'f64x2.sub': simd(0xf1),
  'f64x2.mul': simd(0xf2),
  'f64x2.div': simd(0xf3),
  'f32x4.relaxed_madd': simd(0x105),
};

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

function uleb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

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
