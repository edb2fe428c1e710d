/**
 * Injected into the browser bundle (bundle.ts): every free `Buffer` of the library — the CSV readers
 * work on Buffers — becomes the `buffer` package's, the Node API written for browsers.
 */
export { Buffer } from 'buffer';
