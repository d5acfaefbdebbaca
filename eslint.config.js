// Lint with typescript-eslint's type-checked rules (the type information comes from each package's tsconfig through
// the project service); formatting is prettier's job.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/cjs/**', '**/esm/**', '**/node_modules/**', 'data/**', 'bench/results/**', '**/*.d.ts'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node, ...globals.browser },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // An async method without await is how a synchronous adapter (SQLite) or a constant keeps a Promise-returning
      // interface: a throw still becomes a rejection.
      '@typescript-eslint/require-await': 'off',
      // Passing on a caught `unknown` as it came is not the mistake this rule is after.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      // Arrays print readably in assertion messages.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowArray: true, allowNumber: true }],
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test's describe/test return a promise the runner itself awaits; awaiting it in the file would
          // serialise suite registration and change nothing else.
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after'] },
          ],
        },
      ],
    },
  },
  {
    // Black-box tests read the server's JSON answers untyped on purpose (they check the wire, not our types), so the
    // `any` bookkeeping rules would only add casts; the promise rules still apply.
    files: ['packages/tests/**/*.ts', 'packages/sdk-tests/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // Plain JavaScript (bench, scripts, this file) is outside every tsconfig: no type information to check with.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
