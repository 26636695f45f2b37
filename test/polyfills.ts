/**
 * What test libraries need from Node.js newer than the 20 this project is tested on:
 * aws-local-stepfunctions calls Promise.withResolvers (Node 22).
 */
if (typeof (Promise as unknown as { withResolvers?: unknown }).withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value<T>(): { promise: Promise<T>; resolve: (value: T | PromiseLike<T>) => void; reject: (reason?: unknown) => void } {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((yes, no) => {
        resolve = yes;
        reject = no;
      });
      return { promise, resolve, reject };
    },
  });
}
// The AWS SDK warns once per process on Node 20 that its releases of 2027 will need Node 22: true,
// and the CLI still prints it for its users, but nine copies of it in a test run hide what the tests print.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
export {};
