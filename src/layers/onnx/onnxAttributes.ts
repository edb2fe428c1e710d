/**
 * Reading an ONNX node's attributes for import: typed getters with ONNX's defaults, and the list of
 * problems with a node's attributes (unknown names, values of the wrong kind), so every problem of
 * every node can be reported in one line.
 */
import type { OnnxAttribute, OnnxNode } from './readOnnxGraph.js';
// ---------------------------------------------------------------------------------------------
// Attributes

export const showList = (v: readonly number[]): string => `[${v.join(', ')}]`;

export function attribute(node: OnnxNode, key: string): OnnxAttribute | undefined {
  return node.attributes.get(key);
}

/** An INT attribute's value, `fallback` when absent, or NaN when it has another type (reported by `check`). */
export function intAttr(node: OnnxNode, key: string, fallback: number): number {
  const a = attribute(node, key);
  if (a === undefined) return fallback;
  return a.kind === 'int' ? a.value : NaN;
}

export function intsAttr(node: OnnxNode, key: string, fallback: readonly number[]): readonly number[] {
  const a = attribute(node, key);
  if (a === undefined) return fallback;
  return a.kind === 'ints' ? a.value : [NaN];
}

export function stringAttr(node: OnnxNode, key: string, fallback: string): string {
  const a = attribute(node, key);
  if (a === undefined) return fallback;
  return a.kind === 'string' ? a.value : '?';
}

/** Problems with a node's attributes: unknown names and wrong kinds. */
export function attributeProblems(node: OnnxNode, known: { readonly [key: string]: OnnxAttribute['kind'] }): string[] {
  const problems: string[] = [];
  for (const [key, a] of node.attributes) {
    const kind = known[key];
    if (kind === undefined) problems.push(`attribute "${key}" is not supported`);
    else if (a.kind !== kind) problems.push(`attribute "${key}" must be ${kind === 'ints' ? 'a list of integers' : kind === 'int' ? 'an integer' : kind}`);
  }
  return problems;
}

export const allOnes = (v: readonly number[]): boolean => v.every((d) => d === 1);
export const allZeros = (v: readonly number[]): boolean => v.every((d) => d === 0);
