/** The client's UTF-8 length is the core's (one implementation for the server and the app). */
export { utf8ByteLength } from '../lambdas/core/utf8.js';
