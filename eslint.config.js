// ferry's lint (`npm run lint`): ESLint's and typescript-eslint's recommended rules over the TypeScript sources.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'dist-bench/', 'example/', 'schema/', 'test/fixtures/', '.ferry/', 'coverage/'] },
  {
    files: ['src/**/*.ts', 'test/support/**/*.ts', 'bench/**/*.ts', 'dashboard/**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    rules: { '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }] },
  },
  // zod at run time only through src/util/zod.ts, which sets it up (jitless) before any schema parses.
  {
    files: ['src/**/*.ts'],
    ignores: ['src/util/zod.ts', 'src/**/*.test.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { paths: [{ name: 'zod', message: "Import z from src/util/zod.ts (it sets zod up for ferry).", allowTypeImports: true }] }] },
  },
  // Tests read parsed JSON output field by field; typing each shape there would only restate the assertions.
  { files: ['src/**/*.test.ts', 'test/support/**'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
);
