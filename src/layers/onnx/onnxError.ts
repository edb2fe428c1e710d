/**
 * The one error an ONNX file that deltaflow cannot read or write gets. Its message is one line that
 * says where (the node's name and op type, the initializer, the byte offset) and what was expected;
 * the facts are fields too, so a program can tell the cases apart without parsing the words.
 */

/** What an OnnxError is about (a node, a tensor, the file's structure). */
export interface OnnxPlace {
  /** The node's name (or its op type and position when it has no name). */
  readonly node?: string;
  readonly opType?: string;
  /** An initializer, input or output name. */
  readonly tensor?: string;
}

export class OnnxError extends Error {
  constructor(
    /** The message without the file prefix. */
    readonly detail: string,
    readonly place: OnnxPlace = {},
    /** The file, when known (the CLI and `loadOnnx` add it). */
    readonly file?: string,
  ) {
    super(`${file === undefined ? '' : `${file}: `}${detail}`);
    this.name = 'OnnxError';
  }
}

/** `node "conv1" (Conv)`: how a message names a node. */
export function nodeLabel(name: string, opType: string): string {
  return `node ${JSON.stringify(name)} (${opType})`;
}
