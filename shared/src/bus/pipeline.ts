/**
 * A middleware wraps the rest of the pipeline: it may act before and after `next()`, skip it
 * (to replace the step), or call it more than once (the chaos monkey's duplicate).
 */
export type Middleware<Context> = (context: Context, next: () => Promise<void>) => Promise<void>;

export function compose<Context>(
  middlewares: readonly Middleware<Context>[],
  terminal: (context: Context) => Promise<void>,
): (context: Context) => Promise<void> {
  return (context) => {
    const step = (index: number): Promise<void> => {
      const middleware = middlewares[index];
      return middleware ? middleware(context, () => step(index + 1)) : terminal(context);
    };
    return step(0);
  };
}
