// Marp CLI's configuration, for `pnpm slides` and `pnpm slides:build` (slides/tools/slides.mjs).
import { engine, marpOptions } from './tools/engine.mjs';

export default {
  engine,
  options: marpOptions,
  html: true,
  bespoke: { progress: true, transition: false },
  allowLocalFiles: false,
};
